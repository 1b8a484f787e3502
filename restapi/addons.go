package restapi

import (
	"encoding/json"
	"net/http"
)

// executeAddon queues an add-on execution: body {"target":uuid,"params":{…}}.
func (h *Handler) executeAddon(r *request) error {
	var body struct {
		Target string          `json:"target"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return badRequest("Expected a JSON object with `target` and optional `params`.")
	}
	if body.Target == "" {
		return badRequest("`target` is required.")
	}
	if len(body.Params) > 0 && body.Params[0] != '{' && string(body.Params) != "null" {
		return badRequest("`params` must be an object.")
	}
	req, err := h.app.ExecuteAddon(r.Context(), r.project, r.PathValue("name"), body.Target, body.Params)
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, map[string]string{"request_id": req.ID})
}

// addonStatus answers {"status":…} (and "result" for add-ons that make a file).
func (h *Handler) addonStatus(r *request) error {
	req, err := h.app.AddonStatus(r.Context(), r.project, r.PathValue("name"), r.URL.Query().Get("request_id"))
	if err != nil {
		return err
	}
	out := map[string]any{"status": "unknown"}
	if req != nil {
		out["status"] = req.Status
		if req.Result != "" {
			out["result"] = json.RawMessage(req.Result)
		}
	}
	return r.reply(http.StatusOK, out)
}
