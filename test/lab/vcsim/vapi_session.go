package main

// vapi_session.go: vcsim's vAPI endpoint (/rest, content library and tagging) creates a session
// for any Basic credentials. vCenter checks them: POST /rest/com/vmware/cis/session with other
// than the lab user's credentials is 401 {"type":"com.vmware.vapi.std.errors.unauthenticated"},
// as vCenter answers; the lab user's login goes on to vcsim.

import (
	"net/http"
)

const vapiSessionPath = "/rest/com/vmware/cis/session"

// vapiLoginRefused answers a vAPI login with wrong credentials and reports whether it did.
func (v *vcenter) vapiLoginRefused(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != vapiSessionPath || r.Method != http.MethodPost || r.URL.Query().Get("~action") != "" {
		return false
	}
	if user, pass, ok := r.BasicAuth(); ok && user == v.username && pass == v.password {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"messages":[{"id":"vapi.security.authentication.invalid","default_message":"Unable to authenticate user"}]}}`))
	return true
}
