package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"

	"github.com/satchel-project/satchel"
)

// maxProbeOutput caps what is read from ffprobe; anything longer is not a
// description Inspect can use.
const maxProbeOutput = 1 << 20

// probeEntries selects the fields Inspect uses, which keeps ffprobe's output
// small whatever tags a file carries.
const probeEntries = "format=format_name,duration,bit_rate" +
	":format_tags=major_brand" +
	":stream=codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,bit_rate,sample_rate,channels,duration" +
	":stream_tags=BPS,BPS-eng" +
	":stream_disposition=attached_pic"

// probeOutput is the part of ffprobe's JSON Inspect reads.
type probeOutput struct {
	Streams []probeStream `json:"streams"`
	Format  *struct {
		FormatName string            `json:"format_name"`
		Duration   string            `json:"duration"`
		BitRate    string            `json:"bit_rate"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
}

type probeStream struct {
	CodecType    string            `json:"codec_type"`
	CodecName    string            `json:"codec_name"`
	Width        int               `json:"width"`
	Height       int               `json:"height"`
	AvgFrameRate string            `json:"avg_frame_rate"`
	RFrameRate   string            `json:"r_frame_rate"`
	BitRate      string            `json:"bit_rate"`
	SampleRate   string            `json:"sample_rate"`
	Channels     *int64            `json:"channels"`
	Duration     string            `json:"duration"`
	Tags         map[string]string `json:"tags"`
	Disposition  map[string]int    `json:"disposition"`
}

// cappedBuffer keeps the first max bytes written to it and drops the rest,
// so that ffprobe never blocks on a full pipe.
type cappedBuffer struct {
	buf       []byte
	max       int
	truncated bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - len(b.buf)
	if len(p) > room {
		b.truncated = true
		b.buf = append(b.buf, p[:max(room, 0)]...)
	} else {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

// probe runs ffprobe on path. A file ffprobe cannot describe yields nil
// and no error; only the context ending is an error.
func (i *Inspector) probe(ctx context.Context, path, mime string) (*satchel.VideoInfo, error) {
	out := &cappedBuffer{max: maxProbeOutput}
	cmd := exec.CommandContext(ctx, i.ffprobe,
		"-hide_banner", "-v", "quiet",
		"-protocol_whitelist", "file",
		"-print_format", "json",
		"-show_entries", probeEntries,
		"-i", "file:"+path,
	)
	cmd.Stdout = out
	cmd.WaitDelay = waitDelay
	runErr := cmd.Run()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inspect: ffprobe %s: %w", path, err)
	}
	if runErr != nil || out.truncated {
		return nil, nil
	}
	var p probeOutput
	if err := json.Unmarshal(out.buf, &p); err != nil {
		return nil, nil
	}
	return videoInfo(&p, mime), nil
}

// videoInfo converts ffprobe's description to the Uploadcare shape; it
// returns nil when ffprobe found no container or no usable stream.
func videoInfo(p *probeOutput, mime string) *satchel.VideoInfo {
	if p.Format == nil || p.Format.FormatName == "" {
		return nil
	}
	v := &satchel.VideoInfo{
		Audio: []satchel.AudioStream{},
		Video: []satchel.VideoStream{},
	}
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			if s.Disposition["attached_pic"] == 1 {
				continue // cover art, not a video stream
			}
			v.Video = append(v.Video, satchel.VideoStream{
				Width:     s.Width,
				Height:    s.Height,
				FrameRate: frameRate(s.AvgFrameRate, s.RFrameRate),
				Bitrate:   streamBitrate(&s),
				Codec:     s.CodecName,
			})
		case "audio":
			a := satchel.AudioStream{
				Bitrate: streamBitrate(&s),
				Codec:   s.CodecName,
			}
			if sr, err := strconv.ParseInt(s.SampleRate, 10, 64); err == nil && sr > 0 {
				a.SampleRate = &sr
			}
			if s.Channels != nil && *s.Channels > 0 {
				c := *s.Channels
				a.Channels = &c
			}
			v.Audio = append(v.Audio, a)
		}
	}
	if len(v.Audio) == 0 && len(v.Video) == 0 {
		return nil
	}
	v.Format = containerFormat(p, v, mime)
	if d, ok := parseSeconds(p.Format.Duration); ok {
		v.Duration = &d
	} else {
		// Some containers state durations per stream only.
		var longest int64
		for _, s := range p.Streams {
			if d, ok := parseSeconds(s.Duration); ok && d > longest {
				longest = d
			}
		}
		if longest > 0 {
			v.Duration = &longest
		}
	}
	v.Bitrate = kbps(p.Format.BitRate)
	return v
}

// parseSeconds parses ffprobe's "12.345000" seconds into milliseconds.
func parseSeconds(s string) (int64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
		return 0, false
	}
	return int64(math.Round(f * 1000)), true
}

// kbps converts ffprobe's bits per second to whole kbit/s.
func kbps(s string) *int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	k := n / 1000
	return &k
}

// streamBitrate returns a stream's bitrate, falling back to the statistics
// tag Matroska muxers write.
func streamBitrate(s *probeStream) *int64 {
	if b := kbps(s.BitRate); b != nil {
		return b
	}
	for _, k := range []string{"BPS", "BPS-eng"} {
		if b := kbps(s.Tags[k]); b != nil {
			return b
		}
	}
	return nil
}

// frameRate evaluates ffprobe's "30000/1001" to 29.97 (two decimals),
// preferring the average rate over the base rate.
func frameRate(rates ...string) float64 {
	for _, r := range rates {
		num, den, found := strings.Cut(r, "/")
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			continue
		}
		d := 1.0
		if found {
			if d, err = strconv.ParseFloat(den, 64); err != nil {
				continue
			}
		}
		if n <= 0 || d <= 0 {
			continue
		}
		f := math.Round(n/d*100) / 100
		if math.IsInf(f, 0) || math.IsNaN(f) {
			continue
		}
		return f
	}
	return 0
}

// containerFormat names the container the way the Uploadcare API does:
// a short name such as "mp4", "mov", "webm" or "mkv".
func containerFormat(p *probeOutput, v *satchel.VideoInfo, mime string) string {
	names := strings.Split(p.Format.FormatName, ",")
	switch names[0] {
	case "mov":
		brand := strings.ToLower(strings.TrimSpace(p.Format.Tags["major_brand"]))
		switch {
		case brand == "qt":
			return "mov"
		case strings.HasPrefix(brand, "3g2"):
			return "3g2"
		case strings.HasPrefix(brand, "3g"):
			return "3gp"
		case brand == "m4a" || brand == "m4b":
			return "m4a"
		case brand == "mjp2":
			return "mj2"
		case brand == "":
			// No ftyp box: an old QuickTime file.
			return "mov"
		}
		return "mp4"
	case "matroska":
		switch mime {
		case "video/webm", "audio/webm":
			return "webm"
		case "video/x-matroska", "audio/x-matroska":
			return "mkv"
		}
		if webmCodecs(v) {
			return "webm"
		}
		return "mkv"
	}
	return names[0]
}

// webmCodecs reports whether every stream uses a codec WebM allows.
func webmCodecs(v *satchel.VideoInfo) bool {
	for _, s := range v.Video {
		switch s.Codec {
		case "vp8", "vp9", "av1":
		default:
			return false
		}
	}
	for _, s := range v.Audio {
		switch s.Codec {
		case "vorbis", "opus":
		default:
			return false
		}
	}
	return true
}
