package convert

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
)

// GIFLimits bound a GIF converted to a video (the CDN's gif2video): what
// the conversion costs grows with its frames and their pixels.
type GIFLimits struct {
	// MaxFrames is the most frames the GIF may have.
	MaxFrames int
	// MaxPixels bounds width × height × frames.
	MaxPixels int64
}

// GIFVideo is a GIF converted to a video file.
type GIFVideo struct {
	// Path is the video, in the directory given to FromGIF.
	Path string
	// MIME is video/mp4 or video/webm.
	MIME string
}

type gifProbe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		Packets   string `json:"nb_read_packets"`
	} `json:"streams"`
}

// probeGIF reads the size and frame count of an animated GIF (demuxing
// only: nothing is decoded).
func (v *Video) probeGIF(ctx context.Context, dir, src string) (w, h, frames int, err error) {
	out, err := run(ctx, v.o.Timeout, "Reading the GIF", dir, nil, v.o.FFprobe, "-v", "error", "-select_streams", "v:0",
		"-count_packets", "-show_entries", "stream=codec_name,width,height,nb_read_packets", "-of", "json", src)
	if err != nil {
		return 0, 0, 0, err
	}
	var p gifProbe
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) == 0 || p.Streams[0].CodecName != "gif" {
		return 0, 0, 0, failf("The file is not a GIF.")
	}
	s := p.Streams[0]
	frames, _ = strconv.Atoi(s.Packets)
	return s.Width, s.Height, frames, nil
}

// FromGIF converts the animated GIF src into an MP4 (H.264) or WebM (VP9)
// video in dir, at one of the qualities of video conversion ("" is
// normal), without audio. Frames keep their own durations, so a GIF
// yields as many frames as it has; odd sides are padded by a pixel, as
// 4:2:0 video needs even ones. A GIF beyond lim or the converter's
// resolution limit (MaxWidth×MaxHeight), or not animated, is refused with
// an *Error before anything is decoded. ctx bounds the run:
// when it ends, ffprobe or ffmpeg is killed and ctx's error returned.
func (v *Video) FromGIF(ctx context.Context, src, dir, format, quality string, lim GIFLimits) (*GIFVideo, error) {
	w, h, frames, err := v.probeGIF(ctx, dir, src)
	if err != nil {
		return nil, err
	}
	if err := v.checkResolution("GIF", w, h); err != nil {
		return nil, err
	}
	switch {
	case frames < 2:
		return nil, failf("The GIF is not animated.")
	case lim.MaxFrames > 0 && frames > lim.MaxFrames:
		return nil, failf("The GIF has %d frames, more than the limit of %d.", frames, lim.MaxFrames)
	case lim.MaxPixels > 0 && int64(w)*int64(h)*int64(frames) > lim.MaxPixels:
		return nil, failf("The GIF has %d frames of %dx%d pixels, more than the limit of %d pixels in all.", frames, w, h, lim.MaxPixels)
	}
	q, ok := qualities[quality]
	if !ok {
		q = qualities["normal"]
	}
	res := &GIFVideo{MIME: "video/mp4"}
	if format == "webm" {
		res.MIME = "video/webm"
	} else {
		format = "mp4"
	}
	res.Path = filepath.Join(dir, "out."+format)
	args := []string{"-hide_banner", "-nostdin", "-y", "-v", "error", "-f", "gif", "-i", src,
		"-map", "0:v:0", "-an", "-sn", "-dn", "-map_metadata", "-1", "-fps_mode", "vfr",
		"-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-threads", "1", "-filter_threads", "1"}
	args = append(args, videoCodec(format, q)...)
	args = append(args, res.Path)
	if err := v.encode(ctx, dir, args, 0, nil); err != nil {
		return nil, err
	}
	return res, nil
}
