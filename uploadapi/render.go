package uploadapi

import (
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
)

// FileInfo is the Upload API's file-upload-info object.
type FileInfo struct {
	UUID             string                   `json:"uuid"`
	FileID           string                   `json:"file_id"`
	Size             int64                    `json:"size"`
	Total            int64                    `json:"total"`
	Done             int64                    `json:"done"`
	OriginalFilename string                   `json:"original_filename"`
	Filename         string                   `json:"filename"`
	MimeType         string                   `json:"mime_type"`
	IsImage          bool                     `json:"is_image"`
	IsStored         bool                     `json:"is_stored"`
	IsReady          bool                     `json:"is_ready"`
	ImageInfo        *satchel.ImageInfo       `json:"image_info"`
	VideoInfo        *apiview.LegacyVideoInfo `json:"video_info"`
	ContentInfo      *satchel.ContentInfo     `json:"content_info"`
	Metadata         map[string]string        `json:"metadata"`
	Tags             []string                 `json:"tags"`
	S3Bucket         *string                  `json:"s3_bucket"`
	// OriginalProtected is Satchel's own (see the JSON:API v1 dialect);
	// absent unless set.
	OriginalProtected bool `json:"original_protected,omitempty"`
}

func renderFile(f *satchel.File) *FileInfo {
	fi := &FileInfo{
		UUID: f.UUID, FileID: f.UUID, Size: f.Size, Total: f.Size, Done: f.Size,
		OriginalFilename: f.OriginalFilename, Filename: f.Filename, MimeType: f.MimeType,
		IsImage: f.IsImage, IsStored: f.IsStored(), IsReady: f.IsReady,
		ContentInfo: f.ContentInfo, Metadata: f.Metadata, Tags: f.Tags,
		OriginalProtected: f.OriginalProtected,
	}
	if fi.Metadata == nil {
		fi.Metadata = map[string]string{}
	}
	if fi.Tags == nil {
		fi.Tags = []string{}
	}
	if f.ContentInfo != nil {
		fi.ImageInfo = f.ContentInfo.Image
		fi.VideoInfo = apiview.LegacyVideo(f.ContentInfo.Video)
	}
	return fi
}

// GroupInfo is the Upload API's group object.
type GroupInfo struct {
	ID             string       `json:"id"`
	DatetimeCreate string       `json:"datetime_created"`
	DatetimeStored *string      `json:"datetime_stored"`
	FilesCount     int          `json:"files_count"`
	CDNURL         string       `json:"cdn_url"`
	URL            string       `json:"url"`
	Files          []*GroupFile `json:"files"`
}

// GroupFile is a group member: file info plus its default effects.
type GroupFile struct {
	*FileInfo
	DefaultEffects string `json:"default_effects"`
}

func renderGroup(g *satchel.Group, files []*satchel.File, cdnBase, apiBase string) *GroupInfo {
	gi := &GroupInfo{
		ID: g.ID, DatetimeCreate: apiview.Time(g.Created), FilesCount: len(g.Members),
		CDNURL: cdnBase + "/" + g.ID + "/", URL: apiBase + "/groups/" + g.ID + "/",
		Files: make([]*GroupFile, len(g.Members)),
	}
	if g.Stored != nil {
		s := apiview.Time(*g.Stored)
		gi.DatetimeStored = &s
	}
	for i, m := range g.Members {
		if files[i] != nil {
			gi.Files[i] = &GroupFile{FileInfo: renderFile(files[i]), DefaultEffects: m.DefaultEffects}
		}
	}
	return gi
}
