// go_sender: the StatusStack webhook sender a Go user would write in an afternoon instead of using
// the library, measured by bench/run.sh next to wrk, raw_curl_multi and webhook_bench.
//
//	go_sender --url http://127.0.0.1:8080/ --events 200000 --concurrency 64 --payload-bytes 600
//
// Standard library only: one http.Client whose Transport keeps up to `concurrency` keep-alive
// connections to the host, and `concurrency` goroutines that each sign an event (HMAC-SHA256 of the
// exact body, lowercase hex), set the StatusStack headers with a fresh random delivery id, POST it
// and read the answer. Counts 2xx answers as delivered; no retries, no queue. Prints one JSON line
// with the same fields as raw_curl_multi. Delivery latency is the request's time on the wire.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const secret = "bench-secret-0123456789abcdef0123456789"

// makeBody returns a JSON body of about `size` bytes shaped like an incident.updated event: the same
// bytes raw_curl_multi sends.
func makeBody(size int) []byte {
	head := `{"event":"incident.updated","timestamp":"2024-01-15T10:30:00Z","stack":{"id":"stack_abc123",` +
		`"name":"Production Infrastructure","slug":"production"},"incident":{"id":"inc_7f3a","title":` +
		`"Elevated error rates","status":"identified","impact":"major","latest_update":{"message":"`
	tail := `"}}}`
	body := []byte(head)
	if fixed := len(head) + len(tail); size > fixed {
		body = append(body, bytes.Repeat([]byte{'x'}, size-fixed)...)
	}
	return append(body, tail...)
}

// cpuMicros is the CPU time (user + system) this process used so far, in microseconds.
func cpuMicros() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e3
}

// peakRSSMiB is this process's peak resident set size so far, in MiB.
func peakRSSMiB() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Maxrss) / 1024
}

// percentile is the q-quantile (0..1) of sorted samples by nearest rank, as bench_util.hpp does.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)-1) + 0.5)
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return sorted[rank]
}

// deliveryID is a fresh delivery id: "dlv_" and 16 random bytes in hex.
func deliveryID() (string, error) {
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", err
	}
	return "dlv_" + hex.EncodeToString(random[:]), nil
}

// send signs and POSTs one event; it returns the HTTP status (0 with an error when there is none).
func send(client *http.Client, url string, body []byte) (int, error) {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	signature := hex.EncodeToString(mac.Sum(nil))
	id, err := deliveryID()
	if err != nil {
		return 0, err
	}
	request, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("X-StatusStack-Event", "incident.updated")
	request.Header.Set("X-StatusStack-Delivery", id)
	request.Header.Set("X-StatusStack-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	request.Header.Set("X-StatusStack-Signature", signature)
	response, err := client.Do(request)
	if err != nil {
		return 0, err
	}
	// Read the whole answer so the connection goes back to the pool.
	_, err = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	return response.StatusCode, err
}

func main() {
	url := flag.String("url", "", "the receiver's URL (required)")
	events := flag.Int64("events", 100000, "events to send at most")
	concurrency := flag.Int("concurrency", 64, "connections and goroutines")
	payloadBytes := flag.Int("payload-bytes", 600, "size of the JSON body")
	cacert := flag.String("cacert", "", "PEM file of the CA that signed the receiver's certificate")
	maxSeconds := flag.Float64("max-seconds", 0, "stop starting new events after this long (0: no limit)")
	flag.Parse()
	if *url == "" || flag.NArg() > 0 || *concurrency < 1 {
		fmt.Fprintln(os.Stderr, "go_sender: --url is required (and --concurrency at least 1)")
		flag.Usage()
		os.Exit(2)
	}

	tlsConfig := &tls.Config{}
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		if err != nil {
			fmt.Fprintf(os.Stderr, "go_sender: %v\n", err)
			os.Exit(2)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			fmt.Fprintf(os.Stderr, "go_sender: no certificate in %s\n", *cacert)
			os.Exit(2)
		}
		tlsConfig.RootCAs = roots
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        *concurrency,
			MaxIdleConnsPerHost: *concurrency,
			MaxConnsPerHost:     *concurrency,
			IdleConnTimeout:     90 * time.Second,
			TLSClientConfig:     tlsConfig,
		},
	}
	body := makeBody(*payloadBytes)

	var started, delivered, failed atomic.Int64
	var reportMutex sync.Mutex
	latencies := make([][]time.Duration, *concurrency)
	deadline := time.Duration(*maxSeconds * float64(time.Second))
	start := time.Now()
	cpuBefore := cpuMicros()
	var workers sync.WaitGroup
	for worker := 0; worker < *concurrency; worker++ {
		workers.Add(1)
		go func(worker int) {
			defer workers.Done()
			for {
				if deadline > 0 && time.Since(start) > deadline {
					return
				}
				if started.Add(1) > *events {
					started.Add(-1)
					return
				}
				sent := time.Now()
				status, err := send(client, *url, body)
				latencies[worker] = append(latencies[worker], time.Since(sent))
				if err == nil && status >= 200 && status < 300 {
					delivered.Add(1)
					continue
				}
				if failed.Add(1) <= 3 {
					reportMutex.Lock()
					fmt.Fprintf(os.Stderr, "go_sender: %v (HTTP %d)\n", err, status)
					reportMutex.Unlock()
				}
			}
		}(worker)
	}
	workers.Wait()
	seconds := time.Since(start).Seconds()
	cpu := cpuMicros() - cpuBefore

	var all []time.Duration
	for _, samples := range latencies {
		all = append(all, samples...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	perEvent := delivered.Load()
	if perEvent == 0 {
		perEvent = 1
	}
	// round keeps `places` decimals, as the C++ benchmarks' printf formats do.
	round := func(value float64, places float64) float64 {
		scale := math.Pow(10, places)
		return math.Round(value*scale) / scale
	}
	line, err := json.Marshal(struct {
		Tool           string  `json:"tool"`
		URL            string  `json:"url"`
		Events         int64   `json:"events"`
		Concurrency    int     `json:"concurrency"`
		PayloadBytes   int     `json:"payload_bytes"`
		Gomaxprocs     int     `json:"gomaxprocs"`
		Seconds        float64 `json:"seconds"`
		EventsPerSec   float64 `json:"events_per_sec"`
		CPUMicros      float64 `json:"cpu_us_per_event"`
		Delivered      int64   `json:"delivered"`
		Failed         int64   `json:"failed"`
		LatencyP50     float64 `json:"latency_ms_p50"`
		LatencyP99     float64 `json:"latency_ms_p99"`
		PeakRSSMiB     float64 `json:"peak_rss_mib"`
		RuntimeVersion string  `json:"runtime"`
	}{
		Tool:           "go_sender",
		URL:            *url,
		Events:         started.Load(),
		Concurrency:    *concurrency,
		PayloadBytes:   len(body),
		Gomaxprocs:     runtime.GOMAXPROCS(0),
		Seconds:        round(seconds, 3),
		EventsPerSec:   round(float64(delivered.Load())/seconds, 0),
		CPUMicros:      round(cpu/float64(perEvent), 2),
		Delivered:      delivered.Load(),
		Failed:         failed.Load(),
		LatencyP50:     round(percentile(all, 0.50).Seconds()*1e3, 3),
		LatencyP99:     round(percentile(all, 0.99).Seconds()*1e3, 3),
		PeakRSSMiB:     round(peakRSSMiB(), 1),
		RuntimeVersion: runtime.Version(),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_sender: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
