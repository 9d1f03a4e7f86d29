package main

// users.go: lab users with roles, so HDM's authorization by vCenter privileges can be tested.
// vcsim lets one user log in and grants every privilege to everyone (HasPrivilegeOnEntities).
// Besides the -username user (role Admin) the lab has two built-in users with the lab password:
//
//	viewer@vsphere.local    role ReadOnly (System.Anonymous, System.View, System.Read)
//	noaccess@vsphere.local  role NoAccess (no privilege)
//
// Their Login is passed to vcsim as the lab user and the answer's userName put back, and the
// harness remembers which sessions (and clone tickets, and the sessions cloned from them)
// belong to them. HasPrivilegeOnEntities answers from the session's role on every entity (one
// permission at the root, as vCenter has for a role given on the root folder). Reads are not
// filtered by privilege: HDM asks HasPrivilegeOnEntities before serving a user, as remote
// plug-ins do.

import (
	"bytes"
	"net/http"
	"regexp"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// labRoles are the built-in users' roles (vcsim's role names).
var labRoles = map[string]string{"viewer@vsphere.local": "ReadOnly", "noaccess@vsphere.local": "NoAccess"}

type labUsers struct {
	mu        sync.Mutex
	bySession map[string]string // session key → built-in user
	byTicket  map[string]string // clone ticket → built-in user
}

func newLabUsers() *labUsers {
	return &labUsers{bySession: map[string]string{}, byTicket: map[string]string{}}
}

func (u *labUsers) session(key string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bySession[key]
}

// noteTicket remembers that ticket was acquired by the session with key.
func (u *labUsers) noteTicket(key, ticket string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if user := u.bySession[key]; user != "" {
		u.byTicket[ticket] = user
	}
}

// rolePrivileges returns the privileges of the role of user ("" = the lab user: Admin).
func rolePrivileges(user string) map[string]bool {
	role := "Admin"
	if user != "" {
		role = labRoles[user]
	}
	am := simulator.Map.Get(*simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance).Content.AuthorizationManager).(*simulator.AuthorizationManager)
	out := map[string]bool{}
	if r := object.AuthorizationRoleList(am.RoleList).ByName(role); r != nil {
		for _, p := range r.Privilege {
			out[p] = true
		}
	}
	return out
}

var (
	userNameRE = regexp.MustCompile(`<userName>[^<]*</userName>`)
	keyRE      = regexp.MustCompile(`<key>([^<]*)</key>`)
)

func userNameElement(name string) []byte {
	var b bytes.Buffer
	b.WriteString("<userName>")
	_ = xml.EscapeText(&b, []byte(name))
	b.WriteString("</userName>")
	return b.Bytes()
}

// login serves Login for the built-in users; false for anyone else (vcsim decides).
func (v *vcenter) loginLabUser(w http.ResponseWriter, r *http.Request, body []byte) bool {
	var req struct {
		User string `xml:"Body>Login>userName"`
	}
	_ = xml.Unmarshal(body, &req)
	if labRoles[req.User] == "" {
		return false
	}
	body = userNameRE.ReplaceAll(body, userNameElement(v.username))
	r.Body = nopBody(body)
	r.ContentLength = int64(len(body))
	v.answerAs(w, r, req.User)
	return true
}

// answerAs runs a Login/CloneSession through vcsim and, if it made a session, files it under
// user and puts user's name in the answer.
func (v *vcenter) answerAs(w http.ResponseWriter, r *http.Request, user string) {
	rec := v.record(r)
	out := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		if m := keyRE.FindSubmatch(out); m != nil {
			v.users.mu.Lock()
			v.users.bySession[string(m[1])] = user
			v.users.mu.Unlock()
		}
		out = userNameRE.ReplaceAll(out, userNameElement(user))
		rec.Body = bytes.NewBuffer(out)
	}
	copyRecorded(w, rec)
}

// cloneLabUser serves CloneSession of a built-in user's ticket; false for other tickets.
func (v *vcenter) cloneLabUser(w http.ResponseWriter, r *http.Request, ticket string) bool {
	v.users.mu.Lock()
	user := v.users.byTicket[ticket]
	delete(v.users.byTicket, ticket)
	v.users.mu.Unlock()
	if user == "" {
		return false
	}
	v.answerAs(w, r, user)
	return true
}

// hasPrivilegeOnEntities answers from the role of the session asked about.
func (v *vcenter) hasPrivilegeOnEntities(w http.ResponseWriter, body []byte) {
	m, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	req, ok := m.Body.(*types.HasPrivilegeOnEntities)
	if err != nil || !ok {
		writeMethodFault(w, "malformed HasPrivilegeOnEntities", &types.InvalidRequest{})
		return
	}
	if _, active := v.sessions.active(req.SessionId); !active {
		writeMethodFault(w, "A specified parameter was not correct: sessionId", &types.InvalidArgument{InvalidProperty: "sessionId"})
		return
	}
	granted := rolePrivileges(v.users.session(req.SessionId))
	res := &types.HasPrivilegeOnEntitiesResponse{}
	for _, e := range req.Entity {
		ep := types.EntityPrivilege{Entity: e}
		for _, p := range req.PrivId {
			ep.PrivAvailability = append(ep.PrivAvailability, types.PrivilegeAvailability{PrivId: p, IsGranted: granted[p]})
		}
		res.Returnval = append(res.Returnval, ep)
	}
	writeResult(w, res)
}
