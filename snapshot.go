package satchel

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Stored formats. Event payloads outlive the code that writes them: an
// event queued before an upgrade is delivered after it. So they are
// written and read through the versioned, json-tagged types below, never
// as json.Marshal of the domain types: renaming a field of File changes
// nothing stored. A change of format is a new version (EventPayloadV2…)
// that EncodeEventData writes and DecodeEventData reads alongside the old
// ones. Never change the tags of a version that has been released.

// EventPayloadVersion is the version EncodeEventData writes.
const EventPayloadVersion = 1

// EventPayloadV1 is the stored form of EventData, version 1. Payloads
// written before the format had a version carry no "v" and are version 1.
type EventPayloadV1 struct {
	Version        int             `json:"v,omitempty"`
	File           *FileSnapshotV1 `json:"file"`
	PreviousValues map[string]any  `json:"previous_values,omitempty"`
	Initiator      InitiatorV1     `json:"initiator"`
}

// FileSnapshotV1 is the stored snapshot of a File in an event, version 1.
// Its keys are the names File's fields had when the snapshots were first
// written (untagged Go names); they are frozen.
type FileSnapshotV1 struct {
	UUID             string     `json:"UUID"`
	ProjectID        int64      `json:"ProjectID"`
	Size             int64      `json:"Size"`
	MimeType         string     `json:"MimeType"`
	OriginalFilename string     `json:"OriginalFilename"`
	Filename         string     `json:"Filename"`
	BlobKey          string     `json:"BlobKey"`
	Checksum         string     `json:"Checksum"`
	IsImage          bool       `json:"IsImage"`
	IsReady          bool       `json:"IsReady"`
	Uploaded         time.Time  `json:"Uploaded"`
	Stored           *time.Time `json:"Stored"`
	Removed          *time.Time `json:"Removed"`
	Source           string     `json:"Source"`
	SourceURL        string     `json:"SourceURL"`
	// ContentInfo is stored in its API shape (json-tagged ContentInfo).
	ContentInfo *ContentInfo      `json:"ContentInfo"`
	Metadata    map[string]string `json:"Metadata"`
	Tags        []string          `json:"Tags"`
	// Expires and OriginalProtected came later in version 1; payloads
	// without them read as no expiry and an unprotected original.
	Expires           *time.Time `json:"Expires,omitempty"`
	OriginalProtected bool       `json:"OriginalProtected,omitempty"`
	// Variations maps conversion paths to the converted files' UUIDs.
	Variations map[string]string `json:"Variations,omitempty"`
	// Appdata holds add-on results by add-on name.
	Appdata map[string]AddonResult `json:"Appdata,omitempty"`
}

// InitiatorV1 is the stored form of an Initiator, version 1.
type InitiatorV1 struct {
	Type           string  `json:"type"`
	RequestID      *string `json:"request_id"`
	AddonName      *string `json:"addon_name"`
	SourceFileUUID *string `json:"source_file_uuid,omitempty"`
}

// SnapshotV1 is the version 1 snapshot of f.
func SnapshotV1(f *File) *FileSnapshotV1 {
	if f == nil {
		return nil
	}
	return &FileSnapshotV1{
		UUID: f.UUID, ProjectID: f.ProjectID, Size: f.Size, MimeType: f.MimeType, OriginalFilename: f.OriginalFilename,
		Filename: f.Filename, BlobKey: f.BlobKey, Checksum: f.Checksum, IsImage: f.IsImage, IsReady: f.IsReady,
		Uploaded: f.Uploaded, Stored: f.Stored, Removed: f.Removed, Source: f.Source, SourceURL: f.SourceURL,
		ContentInfo: f.ContentInfo, Metadata: f.Metadata, Tags: f.Tags,
		Expires: f.Expires, OriginalProtected: f.OriginalProtected, Variations: f.Variations, Appdata: f.Appdata,
	}
}

// File is the file the snapshot describes.
func (s *FileSnapshotV1) File() *File {
	if s == nil {
		return nil
	}
	return &File{
		UUID: s.UUID, ProjectID: s.ProjectID, Size: s.Size, MimeType: s.MimeType, OriginalFilename: s.OriginalFilename,
		Filename: s.Filename, BlobKey: s.BlobKey, Checksum: s.Checksum, IsImage: s.IsImage, IsReady: s.IsReady,
		Uploaded: s.Uploaded, Stored: s.Stored, Removed: s.Removed, Source: s.Source, SourceURL: s.SourceURL,
		ContentInfo: s.ContentInfo, Metadata: s.Metadata, Tags: s.Tags,
		Expires: s.Expires, OriginalProtected: s.OriginalProtected, Variations: s.Variations, Appdata: s.Appdata,
	}
}

// EncodeEventData is the stored payload of an event: ed in the current
// version.
func EncodeEventData(ed *EventData) ([]byte, error) {
	in := ed.Initiator
	b, err := json.Marshal(EventPayloadV1{
		Version: EventPayloadVersion, File: SnapshotV1(ed.File), PreviousValues: ed.PreviousValues,
		//lint:ignore S1016 spelled out on purpose: Initiator may change, InitiatorV1 may not
		Initiator: InitiatorV1{Type: in.Type, RequestID: in.RequestID, AddonName: in.AddonName, SourceFileUUID: in.SourceFileUUID},
	})
	if err != nil {
		return nil, fmt.Errorf("satchel: encode event payload: %w", err)
	}
	return b, nil
}

// DecodeEventData reads a stored event payload of any known version.
func DecodeEventData(b []byte) (*EventData, error) {
	var head struct {
		Version int `json:"v"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("satchel: event payload: %w", err)
	}
	switch head.Version {
	case 0, 1:
		var p EventPayloadV1
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("satchel: event payload v1: %w", err)
		}
		in := p.Initiator
		return &EventData{File: p.File.File(), PreviousValues: p.PreviousValues,
			//lint:ignore S1016 spelled out on purpose: Initiator may change, InitiatorV1 may not
			Initiator: Initiator{Type: in.Type, RequestID: in.RequestID, AddonName: in.AddonName, SourceFileUUID: in.SourceFileUUID}}, nil
	}
	return nil, fmt.Errorf("satchel: event payload version %d: %w", head.Version, errUnknownVersion)
}

var errUnknownVersion = errors.New("unknown version (written by a newer Satchel?)")
