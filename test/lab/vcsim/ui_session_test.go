package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// TestUICloneTicket: a vSphere Client session token becomes a clone ticket through
// /api/ui/vcenter/session/clone-ticket, and the ticket a session of the same user.
func TestUICloneTicket(t *testing.T) {
	lab, c := startTestLab(t, "prem", t.TempDir())
	ctx := context.Background()
	token := cookieOf(t, c)
	guid := c.ServiceContent.About.InstanceUuid
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	post := func(tok, body string) (int, map[string]string) {
		req, _ := http.NewRequest(http.MethodPost, "https://"+lab.URL.Host+uiCloneTicketPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if tok != "" {
			req.Header.Set("vmware-api-session-id", tok)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out := map[string]string{}
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	good := `{"vc-guid":"` + guid + `"}`
	if st, _ := post(token, good); st != http.StatusForbidden {
		t.Fatalf("no plugin registered: %d, want 403", st)
	}
	if err := object.NewExtensionManager(c.Client).Register(ctx, hdmExtension("1.0.0")); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		tok, body string
		want      int
	}{
		"no token":     {"", good, 401},
		"dead token":   {"0123456789abcdef", good, 401},
		"unknown guid": {token, `{"vc-guid":"00000000-0000-0000-0000-000000000000"}`, 404},
		"no body":      {token, ``, 400},
		"no vc-guid":   {token, `{}`, 400},
	} {
		if st, _ := post(tc.tok, tc.body); st != tc.want {
			t.Errorf("%s: %d, want %d", name, st, tc.want)
		}
	}
	st, out := post(token, good)
	ticket := out["session_clone_ticket"]
	if st != http.StatusCreated || ticket == "" || ticket == token {
		t.Fatalf("clone-ticket: %d %v", st, out)
	}
	// The ticket is not a session by itself...
	raw := rawLogin(t, lab)
	raw.cookie = ticket
	if st, body := raw.post(t, retrieveVMs); st != 500 || !strings.Contains(body, "NotAuthenticated") {
		t.Errorf("ticket as cookie: %d %s", st, body)
	}
	// ...CloneSession on a fresh connection turns it into one of the same user, once.
	vc, err := vim25.NewClient(ctx, soap.NewClient(lab.URL, true))
	if err != nil {
		t.Fatal(err)
	}
	sm := session.NewManager(vc)
	if err := sm.CloneSession(ctx, ticket); err != nil {
		t.Fatalf("CloneSession: %v", err)
	}
	us, err := sm.UserSession(ctx)
	if err != nil || us == nil || us.UserName != DefaultOptions().Username || us.Key == token {
		t.Fatalf("cloned session: %+v %v", us, err)
	}
	again, _ := vim25.NewClient(ctx, soap.NewClient(lab.URL, true))
	if _, ok := faultOf(t, session.NewManager(again).CloneSession(ctx, ticket)).(types.InvalidLogin); !ok {
		t.Error("second CloneSession: want InvalidLogin")
	}
	// After the user logs out, the token gets no more tickets.
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := post(token, good); st != http.StatusUnauthorized {
		t.Errorf("after logout: %d, want 401", st)
	}
}
