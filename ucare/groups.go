package ucare

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ListGroupsOptions order and page a group list.
type ListGroupsOptions struct {
	// Limit is the page size (1..1000; the server's default when 0).
	Limit int
	// Ordering is "datetime_created" (default) or "-datetime_created".
	Ordering string
	// From starts the list after this creation time (exclusive).
	From time.Time
}

func (o *ListGroupsOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Ordering != "" {
		q.Set("ordering", o.Ordering)
	}
	if !o.From.IsZero() {
		q.Set("from", o.From.UTC().Format("2006-01-02T15:04:05.999999Z07:00"))
	}
	return q
}

// GroupPage is one page of a group list.
type GroupPage struct {
	Next     string   `json:"next"`
	Previous string   `json:"previous"`
	Total    int      `json:"total"`
	PerPage  int      `json:"per_page"`
	Results  []*Group `json:"results"`
}

// GroupsPage returns the first page of the group list.
func (c *Client) GroupsPage(ctx context.Context, opts *ListGroupsOptions) (*GroupPage, error) {
	var p GroupPage
	if _, err := c.restCall(ctx, http.MethodGet, "/groups/", opts.query(), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// NextGroupsPage returns the page after p (nil when p is the last one).
func (c *Client) NextGroupsPage(ctx context.Context, p *GroupPage) (*GroupPage, error) {
	return followPage[GroupPage](ctx, c, "/groups/", p.Next)
}

// ListGroups iterates over every group, page after page. An error ends the
// iteration.
func (c *Client) ListGroups(ctx context.Context, opts *ListGroupsOptions) iter.Seq2[*Group, error] {
	return eachItem(func() (*GroupPage, error) { return c.GroupsPage(ctx, opts) },
		func(p *GroupPage) (*GroupPage, error) { return c.NextGroupsPage(ctx, p) },
		func(p *GroupPage) ([]*Group, string) { return p.Results, p.Next })
}

// GroupInfo returns a group with its files.
func (c *Client) GroupInfo(ctx context.Context, groupID string) (*Group, error) {
	var g Group
	if _, err := c.restCall(ctx, http.MethodGet, "/groups/"+url.PathEscape(groupID)+"/", nil, nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// DeleteGroup deletes a group (its files stay).
func (c *Client) DeleteGroup(ctx context.Context, groupID string) error {
	_, err := c.restCall(ctx, http.MethodDelete, "/groups/"+url.PathEscape(groupID)+"/", nil, nil, nil)
	return err
}

// StoreGroup stores every file of a group (by batch store, BatchSize files
// per request: API 0.7 has no group storage endpoint).
func (c *Client) StoreGroup(ctx context.Context, groupID string) (*BatchResult, error) {
	g, err := c.GroupInfo(ctx, groupID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(g.Files))
	for _, f := range g.Files {
		if f != nil {
			ids = append(ids, f.UUID)
		}
	}
	return c.StoreFiles(ctx, ids)
}

// Project returns the project of the client's keys.
func (c *Client) Project(ctx context.Context) (*Project, error) {
	var p Project
	if _, err := c.restCall(ctx, http.MethodGet, "/project/", nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
