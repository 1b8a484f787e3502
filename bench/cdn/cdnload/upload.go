package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// cmdUpload uploads one file n times through POST /base/ (stored) and
// writes the UUIDs, one a line, in upload order.
func cmdUpload(args []string) error {
	fs := flag.NewFlagSet("upload", flag.ExitOnError)
	base := fs.String("base", "", "Satchel base URL, http://host:port")
	pub := fs.String("pub", "", "public key")
	file := fs.String("file", "", "file to upload")
	n := fs.Int("n", 1, "uploads")
	c := fs.Int("c", 2, "concurrent uploads")
	out := fs.String("out", "", "UUID list to write (default stdout)")
	fs.Parse(args)
	if *base == "" || *pub == "" || *file == "" || *n < 1 || *n > 100000 {
		return fmt.Errorf("-base, -pub, -file and 1 <= -n <= 100000 are required")
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("UPLOADCARE_PUB_KEY", *pub)
	mw.WriteField("UPLOADCARE_STORE", "1")
	pw, _ := mw.CreateFormFile("file", filepath.Base(*file))
	pw.Write(data)
	mw.Close()
	form, ctype := body.Bytes(), mw.FormDataContentType()

	client := &http.Client{Timeout: 2 * time.Minute}
	uuids := make([]string, *n)
	jobs := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < max(1, *c); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id, err := uploadOnce(client, strings.TrimSuffix(*base, "/")+"/base/", form, ctype)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				uuids[i] = id
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *n; i++ {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "upload: %d x %d bytes in %.1f s (%.0f MB/s)\n", *n, len(data), secs, float64(*n)*float64(len(data))/secs/1e6)
	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	for _, id := range uuids {
		fmt.Fprintln(bw, id)
	}
	return bw.Flush()
}

func uploadOnce(client *http.Client, url string, form []byte, ctype string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(form))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("upload: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var r struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.File == "" {
		return "", fmt.Errorf("upload: unexpected answer %q", b)
	}
	return r.File, nil
}
