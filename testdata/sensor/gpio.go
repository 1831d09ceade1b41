package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The GPIO character device's uAPI (linux/gpio.h, v2 for lines), which
// golang.org/x/sys does not define. The layouts are the kernel's on every
// architecture: the structures are padded to 8 bytes by hand.
type gpioChipInfo struct {
	Name  [32]byte
	Label [32]byte
	Lines uint32
}

type gpioLineAttribute struct {
	ID      uint32
	Padding uint32
	Value   uint64 // flags, values or debounce period, by ID
}

type gpioLineInfo struct {
	Name     [32]byte
	Consumer [32]byte
	Offset   uint32
	NumAttrs uint32
	Flags    uint64
	Attrs    [10]gpioLineAttribute
	Padding  [4]uint32
}

type gpioLineConfigAttribute struct {
	Attr gpioLineAttribute
	Mask uint64
}

type gpioLineConfig struct {
	Flags    uint64
	NumAttrs uint32
	Padding  [5]uint32
	Attrs    [10]gpioLineConfigAttribute
}

type gpioLineRequest struct {
	Offsets         [64]uint32
	Consumer        [32]byte
	Config          gpioLineConfig
	NumLines        uint32
	EventBufferSize uint32
	Padding         [5]uint32
	Fd              int32
}

type gpioLineValues struct {
	Bits uint64
	Mask uint64
}

const (
	gpioLineFlagUsed   = 1 << 0
	gpioLineFlagInput  = 1 << 2
	gpioLineFlagOutput = 1 << 3

	gpioAttrOutputValues = 2
)

// ioctl request numbers: _IOR/_IOWR(0xB4, nr, size).
func gpioIOR(nr, size uintptr) uintptr  { return 2<<30 | size<<16 | 0xB4<<8 | nr }
func gpioIOWR(nr, size uintptr) uintptr { return 3<<30 | size<<16 | 0xB4<<8 | nr }

var (
	gpioGetChipInfo   = gpioIOR(0x01, unsafe.Sizeof(gpioChipInfo{}))
	gpioGetLineInfo   = gpioIOWR(0x05, unsafe.Sizeof(gpioLineInfo{}))
	gpioGetLine       = gpioIOWR(0x07, unsafe.Sizeof(gpioLineRequest{}))
	gpioGetLineValues = gpioIOWR(0x0E, unsafe.Sizeof(gpioLineValues{}))
)

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// gpioLine is one line as `sensor gpio CHIP` lists it.
type gpioLine struct {
	Offset   uint32 `json:"offset"`
	Name     string `json:"name,omitempty"`
	Consumer string `json:"consumer,omitempty"`
	Used     bool   `json:"used"`
	Output   bool   `json:"output"`
}

type gpioChip struct {
	Chip  string     `json:"chip"`
	Label string     `json:"label"`
	Lines []gpioLine `json:"lines"`
}

type gpioReading struct {
	Chip  string `json:"chip"`
	Line  uint32 `json:"line"`
	Value int    `json:"value"`
}

// gpio lists a GPIO chip's lines (args: CHIP), reads a line as an input
// (CHIP LINE), or drives it as an output and reads it back (CHIP LINE
// VALUE), printing JSON: what a sensor service on a Raspberry Pi does with
// /dev/gpiochipN through libgpiod.
func gpio(args []string, stdout io.Writer) error {
	if len(args) < 1 || len(args) > 3 {
		return errors.New("gpio: use gpio CHIP [LINE [VALUE]], e.g. gpio /dev/gpiochip0 17 1")
	}
	fd, err := unix.Open(args[0], unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("gpio: open %s: %w", args[0], err)
	}
	defer unix.Close(fd)
	var info gpioChipInfo
	if err := ioctl(fd, gpioGetChipInfo, unsafe.Pointer(&info)); err != nil {
		return fmt.Errorf("gpio: %s is not a GPIO chip: %w", args[0], err)
	}
	if len(args) == 1 {
		chip := gpioChip{Chip: cString(info.Name[:]), Label: cString(info.Label[:]), Lines: []gpioLine{}}
		for i := uint32(0); i < info.Lines; i++ {
			li := gpioLineInfo{Offset: i}
			if err := ioctl(fd, gpioGetLineInfo, unsafe.Pointer(&li)); err != nil {
				return fmt.Errorf("gpio: line %d of %s: %w", i, args[0], err)
			}
			chip.Lines = append(chip.Lines, gpioLine{
				Offset: i, Name: cString(li.Name[:]), Consumer: cString(li.Consumer[:]),
				Used: li.Flags&gpioLineFlagUsed != 0, Output: li.Flags&gpioLineFlagOutput != 0,
			})
		}
		return json.NewEncoder(stdout).Encode(chip)
	}
	line, err := strconv.ParseUint(args[1], 10, 32)
	if err != nil || uint32(line) >= info.Lines {
		return fmt.Errorf("gpio: line %q: %s has lines 0 to %d", args[1], args[0], info.Lines-1)
	}
	req := gpioLineRequest{NumLines: 1}
	req.Offsets[0] = uint32(line)
	copy(req.Consumer[:], "sensor")
	req.Config.Flags = gpioLineFlagInput
	if len(args) == 3 {
		v, err := strconv.Atoi(args[2])
		if err != nil || (v != 0 && v != 1) {
			return fmt.Errorf("gpio: value %q: use 0 or 1", args[2])
		}
		req.Config.Flags = gpioLineFlagOutput
		req.Config.NumAttrs = 1
		req.Config.Attrs[0] = gpioLineConfigAttribute{Attr: gpioLineAttribute{ID: gpioAttrOutputValues, Value: uint64(v)}, Mask: 1}
	}
	if err := ioctl(fd, gpioGetLine, unsafe.Pointer(&req)); err != nil {
		return fmt.Errorf("gpio: request line %d of %s: %w", line, args[0], err)
	}
	lfd := int(req.Fd)
	defer unix.Close(lfd)
	vals := gpioLineValues{Mask: 1}
	if err := ioctl(lfd, gpioGetLineValues, unsafe.Pointer(&vals)); err != nil {
		return fmt.Errorf("gpio: read line %d of %s: %w", line, args[0], err)
	}
	return json.NewEncoder(stdout).Encode(gpioReading{Chip: cString(info.Name[:]), Line: uint32(line), Value: int(vals.Bits & 1)})
}
