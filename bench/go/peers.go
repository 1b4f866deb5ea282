// cilium/ebpf reading a u32 -> u64 map (bench/peers.ts): BatchLookup into Go slices, or Iterate
// (GET_NEXT_KEY + LOOKUP_ELEM). Opens the map by id, reads it REPS times (timed), then once more
// (not timed) checking that it sees every key 0..N-1 once with value == key.
//
//	peers batch|iterate ID BATCH N REPS
//
// Prints one line of JSON: the median nanoseconds per entry, the entries, and the check.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/cilium/ebpf"
)

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return n
}

// read calls visit for every entry of one walk and returns how many it saw.
func read(m *ebpf.Map, mode string, batch int, visit func(k uint32, v uint64)) int {
	n := 0
	if mode == "iterate" {
		var k uint32
		var v uint64
		it := m.Iterate()
		for it.Next(&k, &v) {
			visit(k, v)
			n++
		}
		if err := it.Err(); err != nil {
			fmt.Fprintln(os.Stderr, "Iterate:", err)
			os.Exit(1)
		}
		return n
	}
	keys := make([]uint32, batch)
	values := make([]uint64, batch)
	var cursor uint32
	var prev interface{}
	for {
		c, err := m.BatchLookup(prev, &cursor, keys, values, nil)
		for i := 0; i < c; i++ {
			visit(keys[i], values[i])
		}
		n += c
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return n
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "BatchLookup:", err)
			os.Exit(1)
		}
		prev = &cursor
	}
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: peers batch|iterate ID BATCH N REPS")
		os.Exit(2)
	}
	mode := os.Args[1]
	m, err := ebpf.NewMapFromID(ebpf.MapID(atoi(os.Args[2])))
	if err != nil {
		fmt.Fprintln(os.Stderr, "NewMapFromID:", err)
		os.Exit(1)
	}
	batch, n, reps := atoi(os.Args[3]), atoi(os.Args[4]), atoi(os.Args[5])
	runs := make([]float64, reps)
	var sink uint64
	for r := 0; r < reps; r++ {
		t0 := time.Now()
		c := read(m, mode, batch, func(k uint32, v uint64) { sink += v })
		runs[r] = float64(time.Since(t0).Nanoseconds()) / float64(c)
	}
	seen := make([]bool, n)
	bad := 0
	entries := read(m, mode, batch, func(k uint32, v uint64) {
		if int(k) >= n || seen[k] || v != uint64(k) {
			bad++
			return
		}
		seen[k] = true
	})
	sort.Float64s(runs)
	fmt.Printf("{\"entries\":%d,\"median_ns\":%.2f,\"ok\":%t,\"why\":\"%d entries, %d wrong or repeated\",\"sink\":%d}\n",
		entries, runs[reps/2], entries == n && bad == 0, entries, bad, sink%2)
}
