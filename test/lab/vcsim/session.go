package main

// session.go tells the harness's HTTP layer (intercept.go, nfc.go) which vCenter session a
// request carries. vcsim keeps its sessions in an unexported map keyed by the value of the
// vmware_soap_session cookie (which is also UserSession.key); a session "view" of the
// SessionManager lists them (simulator.Session.Get fills SessionList), which is what
// activeSession reads.
//
// vcsim stores a clone ticket as one more session under the ticket's value, so a ticket
// would pass as a cookie and SessionIsActive(ticket) would answer true. vCenter does neither:
// the harness remembers the tickets it saw handed out (AcquireCloneTicket answers) until
// they are used (CloneSession) and treats them as no session.

import (
	"net/http"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type sessions struct {
	mu      sync.Mutex
	tickets map[string]bool // clone tickets handed out and not used yet
}

func newSessions() *sessions { return &sessions{tickets: map[string]bool{}} }

func (s *sessions) addTicket(t string) {
	s.mu.Lock()
	s.tickets[t] = true
	s.mu.Unlock()
}

func (s *sessions) useTicket(t string) {
	s.mu.Lock()
	delete(s.tickets, t)
	s.mu.Unlock()
}

func (s *sessions) isTicket(t string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tickets[t]
}

// list returns vcsim's sessions, clone tickets left out.
func (s *sessions) list() []types.UserSession {
	ref := simulator.Map.SessionManager().Reference()
	view := (&simulator.Session{Registry: simulator.NewRegistry()}).Get(ref).(*simulator.SessionManager)
	var out []types.UserSession
	for _, us := range view.SessionList {
		if !s.isTicket(us.Key) {
			out = append(out, us)
		}
	}
	return out
}

// active returns the session with key, if it is logged in.
func (s *sessions) active(key string) (types.UserSession, bool) {
	if key == "" || s.isTicket(key) {
		return types.UserSession{}, false
	}
	for _, us := range s.list() {
		if us.Key == key {
			return us, true
		}
	}
	return types.UserSession{}, false
}

// cookie is the request's vmware_soap_session value ("" if none).
func sessionCookie(r *http.Request) string {
	if c, err := r.Cookie(soap.SessionCookieName); err == nil {
		return c.Value
	}
	return ""
}

// fromRequest returns the session of the request's cookie.
func (s *sessions) fromRequest(r *http.Request) (types.UserSession, bool) {
	return s.active(sessionCookie(r))
}

// dropTicketCookie removes a vmware_soap_session cookie that holds a clone ticket, so vcsim
// treats the request as anonymous (a ticket is no session until CloneSession).
func (s *sessions) dropTicketCookie(r *http.Request) {
	v := sessionCookie(r)
	if v == "" || !s.isTicket(v) {
		return
	}
	var keep []string
	for _, c := range r.Cookies() {
		if c.Name != soap.SessionCookieName {
			keep = append(keep, (&http.Cookie{Name: c.Name, Value: c.Value}).String())
		}
	}
	r.Header.Del("Cookie")
	for _, c := range keep {
		r.Header.Add("Cookie", c)
	}
}
