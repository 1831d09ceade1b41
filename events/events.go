// Package events is edgerun's event journal: docker's events, kept without
// a daemon. Every edgerun process that changes a container, an image, a
// volume or a network appends one JSON line per event to a bounded,
// rotated file under the persistent root (<root>/events/events.log and
// events.log.1), and `edgerun events` reads it and follows it with
// inotify. Each line is docker's events message (`docker events --format
// '{{json .}}'`), so scripts written for docker read it unchanged.
//
// Appending is cheap and best effort: one write(2) with O_APPEND, no
// fsync, and an error is only handed to a warning callback, never to the
// operation that caused the event. Readers skip a line a power cut tore.
// The package knows nothing of containers or images, and imports nothing
// of this module.
package events

// Type is what an event is about, as docker names it.
type Type string

// The types edgerun records (docker also has daemon, plugin, service,
// node, secret and config, which a daemonless runtime has none of).
const (
	Container Type = "container"
	Image     Type = "image"
	Volume    Type = "volume"
	Network   Type = "network"
)

// Scope is docker's: "local" for everything but swarm's objects.
const Scope = "local"

// Actor is what the event happened to: its ID (a container ID, an image
// ID or reference, a volume's or network's name) and its attributes
// (name, image, labels, exitCode, signal, ...).
type Actor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// Message is one event, in docker's shape (api/types/events.Message):
// Status, ID and From are docker's deprecated fields, filled as docker
// fills them (container and image events only).
type Message struct {
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     Type   `json:"Type"`
	Action   string `json:"Action"`
	Actor    Actor  `json:"Actor"`
	Scope    string `json:"scope"`
	Time     int64  `json:"time,omitempty"`
	TimeNano int64  `json:"timeNano,omitempty"`
}

// New returns an event of typ with action about the actor id; its time is
// set when it is appended. attrs is used as it is (not copied).
func New(typ Type, action, id string, attrs map[string]string) Message {
	if attrs == nil {
		attrs = map[string]string{}
	}
	m := Message{Type: typ, Action: action, Actor: Actor{ID: id, Attributes: attrs}, Scope: Scope}
	// docker's daemon fills the deprecated fields of these two types.
	switch typ {
	case Container:
		m.Status, m.ID, m.From = action, id, attrs["image"]
	case Image:
		m.Status, m.ID = action, id
	}
	return m
}

// Container actions beyond docker's plain verbs: a health status change
// and an exec carry their detail in the action itself, as docker's do
// ("health_status: healthy", "exec_start: sh -c date").
const (
	ActionHealthStatus = "health_status"
	ActionExecCreate   = "exec_create"
	ActionExecStart    = "exec_start"
)

// WithDetail is docker's "ACTION: DETAIL" form of an action
// (health_status: healthy).
func WithDetail(action, detail string) string {
	return action + ": " + detail
}
