package container

import "sync"

// fileWorkers is how many small files the commands that read or write one
// per container (ps, the peers' /etc/hosts) handle at once: each is a few
// system calls, which a few workers overlap.
const fileWorkers = 4

// inParallel calls f(0) to f(n-1), fileWorkers at a time, and returns when
// all have returned.
func inParallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, fileWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
