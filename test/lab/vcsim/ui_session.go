package main

// ui_session.go serves the vsphere-ui endpoint a remote plugin server uses to act as the
// vSphere Client user:
//
//	POST /api/ui/vcenter/session/clone-ticket
//	vmware-api-session-id: <sessionToken from htmlClientSdk app.getSessionInfo()>
//	Content-Type: application/json
//	{"vc-guid": "<ServiceContent.about.instanceUuid>"}
//
//	201 {"session_clone_ticket": "<ticket>"}   → CloneSession(ticket) on the plugin server's own connection
//	401 the token is no live session; 403 no remote plugin is registered in this vCenter;
//	404 vc-guid names no vCenter known here; 400 malformed body.
//
// This mirrors the vsphere-ui service of a real vCenter ("How to Delegate Session Authority to
// the Plug-in Server", vSphere Client SDK 8.0). In the lab the session token is the user's
// vim25 session cookie (test/lab/client hands it out), so the ticket is that session's
// AcquireCloneTicket, obtained through vcsim like any SOAP call and remembered as a ticket
// (session.go) until CloneSession uses it. A real vCenter checks that the token belongs to the
// calling plug-in; the lab only checks that some remote plug-in is registered.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
)

const uiCloneTicketPath = "/api/ui/vcenter/session/clone-ticket"

func uiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_type": http.StatusText(status), "message": msg})
}

func (v *vcenter) serveUICloneTicket(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		uiError(w, http.StatusMethodNotAllowed, "POST only")
		return
	}
	token := r.Header.Get("vmware-api-session-id")
	if _, ok := v.sessions.active(token); !ok {
		uiError(w, http.StatusUnauthorized, "The request is not properly authenticated.")
		return
	}
	var req struct {
		VcGUID *string `json:"vc-guid"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil || json.Unmarshal(raw, &req) != nil || req.VcGUID == nil {
		uiError(w, http.StatusBadRequest, `the body must be JSON {"vc-guid": "<vCenter instance UUID>"}`)
		return
	}
	about := simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance).Content.About
	if !strings.EqualFold(*req.VcGUID, about.InstanceUuid) {
		uiError(w, http.StatusNotFound, "There is no vCenter Server instance identified by "+*req.VcGUID)
		return
	}
	if !remotePluginRegistered() {
		uiError(w, http.StatusForbidden, "The remote plug-in is not registered with this vCenter Server instance.")
		return
	}
	envelope := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="` + nsSoapEnv + `"><soapenv:Body>` +
		`<AcquireCloneTicket xmlns="urn:vim25"><_this type="SessionManager">` + simulator.Map.SessionManager().Reference().Value +
		`</_this></AcquireCloneTicket></soapenv:Body></soapenv:Envelope>`
	inner := httptest.NewRequest(http.MethodPost, "/sdk", strings.NewReader(envelope))
	inner.Header.Set("Content-Type", "text/xml")
	inner.AddCookie(&http.Cookie{Name: soap.SessionCookieName, Value: token})
	rec := v.record(inner)
	ticket := returnval(rec.Body.Bytes())
	if rec.Code != http.StatusOK || ticket == "" {
		uiError(w, http.StatusUnauthorized, "The request is not properly authenticated.")
		return
	}
	v.sessions.addTicket(ticket)
	v.users.noteTicket(token, ticket)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"session_clone_ticket": ticket})
}

// remotePluginRegistered reports whether an extension with a vsphere-client-remote client exists.
func remotePluginRegistered() bool {
	m := currentExtensionManager()
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ext := range m.ExtensionList {
		for _, c := range ext.Client {
			if c.Type == "vsphere-client-remote" {
				return true
			}
		}
	}
	return false
}
