package main

// intercept.go is the HTTP layer between the strict request check (strict.go) and vcsim. It
// answers what vcsim lacks or does differently from a real vCenter:
//
//   - /sdk calls that read properties (RetrieveProperties, RetrievePropertiesEx,
//     WaitForUpdates[Ex], ...) need a logged-in session: NotAuthenticated otherwise (vcsim
//     answers them anonymously).
//   - DisableMethods/EnableMethods (urn:internalvim25) and their enforcement: any call of a
//     disabled method on its entity gets MethodDisabled{source} (authorization.go).
//   - ExportVm and the export lease (nfc.go); ImportVApp and HttpNfcLeaseComplete/Abort are
//     watched to learn and forget import lease files; /nfc/ is served here, not by vcsim.
//   - /folder (datastore files) needs a session cookie or the lab user's Basic credentials:
//     401 otherwise, as vCenter.
//   - Clone tickets are no sessions (session.go): a ticket sent as cookie is dropped, and
//     SessionIsActive(ticket) is false.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// needSession are the methods vcsim serves without a session that vCenter refuses.
var needSession = map[string]bool{
	"RetrieveProperties": true, "RetrievePropertiesEx": true, "ContinueRetrievePropertiesEx": true,
	"CancelRetrievePropertiesEx": true, "WaitForUpdates": true, "WaitForUpdatesEx": true,
	"CheckForUpdates": true, "CancelWaitForUpdates": true, "Fetch": true, "CreateFilter": true,
	"CreatePropertyCollector": true,
}

type vcenter struct {
	next               http.Handler
	username, password string
	thumbprint         string
	sessions           *sessions
	disabled           *disabledMethods
	leases             *nfcLeases
	collectors         *collectors   // paging tokens and update versions (collector.go)
	users              *labUsers     // built-in users with roles (users.go)
	client             *vim25.Client // in-process, for the harness's own changes
	extras             *labExtras    // guest operations and CBT (guest_cbt_intercept.go); set by startLab
	ctx                context.Context
}

func newVcenter(next http.Handler, opts Options, thumbprint string, client *vim25.Client) *vcenter {
	return &vcenter{
		next: next, username: opts.Username, password: opts.Password, thumbprint: thumbprint,
		sessions: newSessions(), disabled: newDisabledMethods(), leases: newNfcLeases(),
		collectors: newCollectors(), users: newLabUsers(),
		client: client, ctx: context.Background(),
	}
}

func (v *vcenter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == uiCloneTicketPath:
		v.serveUICloneTicket(w, r)
	case r.URL.Path == vapiSessionPath && v.vapiLoginRefused(w, r):
	case strings.HasPrefix(r.URL.Path, "/nfc/"):
		v.serveNFC(w, r)
	case r.URL.Path == "/guestFile" && v.extras != nil:
		v.extras.guests.serveGuestFile(w, r)
	case strings.HasPrefix(r.URL.Path, "/folder/") || r.URL.Path == "/folder":
		if !v.folderAuthorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
			http.Error(w, "Unauthorized: a vCenter session (vmware_soap_session cookie) or Basic credentials are required", http.StatusUnauthorized)
			return
		}
		v.next.ServeHTTP(w, r)
	case r.Method == http.MethodPost && strictPaths[r.URL.Path]:
		v.serveSDK(w, r)
	default:
		v.next.ServeHTTP(w, r)
	}
}

func (v *vcenter) folderAuthorized(r *http.Request) bool {
	if _, ok := v.sessions.fromRequest(r); ok {
		return true
	}
	user, pass, ok := r.BasicAuth()
	return ok && user == v.username && pass == v.password
}

func notAuthenticated(w http.ResponseWriter, this types.ManagedObjectReference) {
	writeMethodFault(w, "The session is not authenticated.", &types.NotAuthenticated{
		NoPermission: types.NoPermission{Object: this, PrivilegeId: "System.View"},
	})
}

func (v *vcenter) serveSDK(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	v.sessions.dropTicketCookie(r)
	c, ok := parseCall(body)
	if !ok {
		v.next.ServeHTTP(w, r)
		return
	}
	_, authed := v.sessions.fromRequest(r)

	if c.ns == nsIntVim {
		if !authed {
			notAuthenticated(w, c.this)
			return
		}
		v.internalMethod(w, c, body)
		return
	}
	if needSession[c.name] && !authed {
		notAuthenticated(w, c.this)
		return
	}
	if source, off := v.disabled.check(c.this, c.name); off && authed {
		writeMethodFault(w, fmt.Sprintf("The method is disabled by '%s'", source), &types.MethodDisabled{Source: source})
		return
	}

	if v.serveExtras(w, r, c, body, authed) {
		return
	}
	switch c.name {
	case "RetrievePropertiesEx":
		v.retrieveEx(w, r, c, body)
	case "ContinueRetrievePropertiesEx", "CancelRetrievePropertiesEx":
		v.continueEx(w, r, c, body)
	case "WaitForUpdatesEx", "WaitForUpdates":
		v.waitVersioned(w, r, c, body)
	case "ExportVm":
		if !authed {
			notAuthenticated(w, c.this)
			return
		}
		v.exportVm(w, c.this)
	case "ImportVApp":
		v.importVApp(w, r, body)
	case "HttpNfcLeaseComplete", "HttpNfcLeaseAbort":
		v.leases.mu.Lock()
		_, tracked := v.leases.imports[c.this.Value]
		v.leases.mu.Unlock()
		if !tracked {
			v.next.ServeHTTP(w, r)
			return
		}
		rec := v.record(r)
		if rec.Code == http.StatusOK {
			v.endImport(c.this.Value, c.name == "HttpNfcLeaseAbort")
		}
		copyRecorded(w, rec)
	case "Login":
		if !v.loginLabUser(w, r, body) {
			v.next.ServeHTTP(w, r)
		}
	case "HasPrivilegeOnEntities":
		if !authed {
			notAuthenticated(w, c.this)
			return
		}
		v.hasPrivilegeOnEntities(w, body)
	case "AcquireCloneTicket":
		rec := v.record(r)
		if rec.Code == http.StatusOK {
			if t := returnval(rec.Body.Bytes()); t != "" {
				v.sessions.addTicket(t)
				v.users.noteTicket(sessionCookie(r), t)
			}
		}
		copyRecorded(w, rec)
	case "CloneSession":
		var req struct {
			Ticket string `xml:"Body>CloneSession>cloneTicket"`
		}
		_ = xml.Unmarshal(body, &req)
		v.sessions.useTicket(req.Ticket) // vcsim's map then holds it as the clone's key or not at all
		if !v.cloneLabUser(w, r, req.Ticket) {
			v.next.ServeHTTP(w, r)
		}
	case "SessionIsActive":
		var req struct {
			ID string `xml:"Body>SessionIsActive>sessionID"`
		}
		_ = xml.Unmarshal(body, &req)
		if authed && v.sessions.isTicket(req.ID) {
			writeResult(w, &types.SessionIsActiveResponse{Returnval: false})
			return
		}
		v.next.ServeHTTP(w, r)
	default:
		v.next.ServeHTTP(w, r)
	}
}

// record runs the request through vcsim and returns its answer.
func (v *vcenter) record(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	v.next.ServeHTTP(rec, r)
	return rec
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, vals := range rec.Header() {
		w.Header()[k] = vals
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// internalMethod serves DisableMethods and EnableMethods.
func (v *vcenter) internalMethod(w http.ResponseWriter, c call, body []byte) {
	if _, ok := simulator.Map.Get(c.this).(*simulator.AuthorizationManager); !ok {
		writeMethodFault(w, fmt.Sprintf("Method %s not found on %s", c.name, c.this.Value),
			&types.MethodNotFound{Receiver: c.this, Method: c.name})
		return
	}
	var env struct {
		Disable *DisableMethodsRequestType `xml:"Body>DisableMethods"`
		Enable  *EnableMethodsRequestType  `xml:"Body>EnableMethods"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		writeMethodFault(w, err.Error(), &types.InvalidRequest{})
		return
	}
	var refs []types.ManagedObjectReference
	switch {
	case env.Disable != nil:
		refs = env.Disable.Entity
	case env.Enable != nil:
		refs = env.Enable.Entity
	default:
		writeMethodFault(w, "no request", &types.InvalidRequest{})
		return
	}
	for _, ref := range refs {
		if _, f := entityOf(ref); f != nil {
			writeMethodFault(w, fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", ref.Value), f)
			return
		}
	}
	for _, ref := range refs {
		e, _ := entityOf(ref)
		if env.Disable != nil {
			v.disabled.disable(e, env.Disable.Method, env.Disable.SourceId)
		} else {
			v.disabled.enable(e, env.Enable.Method, env.Enable.SourceId)
		}
	}
	if env.Disable != nil {
		writeResult(w, &DisableMethodsResponse{})
	} else {
		writeResult(w, &EnableMethodsResponse{})
	}
}

// importVApp lets vcsim create the VM and the lease, then learns the lease's files.
func (v *vcenter) importVApp(w http.ResponseWriter, r *http.Request, body []byte) {
	var name string
	if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
		if req, ok := m.Body.(*types.ImportVApp); ok {
			if spec, ok := req.Spec.(*types.VirtualMachineImportSpec); ok {
				name = spec.ConfigSpec.Name
			}
		}
	}
	before := map[types.ManagedObjectReference]bool{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		if e.Entity().Name == name {
			before[e.Entity().Self] = true
		}
	}
	rec := v.record(r)
	if rec.Code == http.StatusOK && name != "" {
		leaseID := returnval(rec.Body.Bytes())
		var vm *simulator.VirtualMachine
		for _, e := range simulator.Map.All("VirtualMachine") {
			if e.Entity().Name == name && !before[e.Entity().Self] {
				vm = e.(*simulator.VirtualMachine)
			}
		}
		if vm == nil || leaseID == "" {
			log.Printf("ImportVApp %q: lease %q, VM not found: uploads will not be stored", name, leaseID)
		} else if err := v.trackImport(leaseID, vm); err != nil {
			log.Printf("ImportVApp %q: %v", name, err)
		}
	}
	copyRecorded(w, rec)
}
