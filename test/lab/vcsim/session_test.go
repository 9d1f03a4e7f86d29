package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// TestPropertyReadsNeedSession: vcsim answers property reads anonymously, vCenter does not.
func TestPropertyReadsNeedSession(t *testing.T) {
	lab, _ := startTestLab(t, "prem", t.TempDir())
	raw := rawLogin(t, lab)
	if st, body := raw.post(t, retrieveVMs); st != 200 || !strings.Contains(body, "app-01") {
		t.Fatalf("with session: %d %s", st, body)
	}
	cookie := raw.cookie
	raw.cookie = ""
	pc := `<_this type="PropertyCollector">propertyCollector</_this>`
	spec := `<specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj></objectSet></specSet>`
	for name, req := range map[string]string{
		"RetrievePropertiesEx": retrieveVMs,
		"RetrieveProperties":   `<RetrieveProperties xmlns="urn:vim25">` + pc + spec + `</RetrieveProperties>`,
		"WaitForUpdatesEx":     `<WaitForUpdatesEx xmlns="urn:vim25">` + pc + `<options><maxWaitSeconds>0</maxWaitSeconds></options></WaitForUpdatesEx>`,
	} {
		st, body := raw.post(t, req)
		if st != 500 || !strings.Contains(body, `xsi:type="NotAuthenticated"`) || !strings.Contains(body, "<privilegeId>System.View</privilegeId>") {
			t.Errorf("%s without session: %d %s", name, st, body)
		}
	}
	// RetrieveServiceContent stays anonymous, as in vCenter.
	if st, body := raw.post(t, `<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>`); st != 200 {
		t.Errorf("RetrieveServiceContent: %d %s", st, body)
	}
	// After Logout the cookie is no session any more.
	raw.cookie = cookie
	if st, body := raw.post(t, `<Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout>`); st != 200 {
		t.Fatalf("Logout: %d %s", st, body)
	}
	if st, body := raw.post(t, retrieveVMs); st != 500 || !strings.Contains(body, "NotAuthenticated") {
		t.Errorf("after logout: %d %s", st, body)
	}
}

// TestFolderNeedsSession: /folder answers 401 without a session cookie or Basic credentials.
func TestFolderNeedsSession(t *testing.T) {
	lab, c := startTestLab(t, "prem", t.TempDir())
	cookie := cookieOf(t, c)
	base := fmt.Sprintf("https://%s/folder/", lab.URL.Host)
	q := "?dcPath=prem-dc&dsName=prem-ds"
	for _, m := range []string{"GET", "HEAD", "PUT"} {
		st, h, _ := httpDo(t, m, base+"app-01/app-01.vmdk"+q, "", nil, strings.NewReader("overwritten"))
		if st != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s without session: %d %q", m, st, h.Get("WWW-Authenticate"))
		}
	}
	if st, _, _ := httpDo(t, "GET", base+"app-01/app-01.vmdk"+q, "not-a-session", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("GET with a bogus cookie: %d", st)
	}
	if st, _, _ := httpDo(t, "PUT", base+"hdm/new.bin"+q, "", nil, strings.NewReader("x")); st != http.StatusUnauthorized {
		t.Errorf("PUT without session: %d", st)
	}
	if _, err := os.Stat(filepath.Join(lab.Datastore, "hdm", "new.bin")); err == nil {
		t.Error("anonymous PUT created a file")
	}
	st, _, body := httpDo(t, "GET", base+"app-01/app-01.vmdk"+q, cookie, nil, nil)
	if st != 200 || !strings.Contains(string(body), "Disk DescriptorFile") {
		t.Errorf("GET with session: %d", st)
	}
	if st, _, _ := httpDo(t, "PUT", base+"hdm/new.bin"+q, cookie, nil, strings.NewReader("x")); st != 200 {
		t.Errorf("PUT with session: %d", st)
	}
	opts := DefaultOptions()
	req, _ := http.NewRequest("GET", base+"hdm/new.bin"+q, nil)
	req.SetBasicAuth(opts.Username, opts.Password)
	if res, err := insecure.Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("GET with Basic credentials: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	req.SetBasicAuth(opts.Username, "wrong")
	if res, err := insecure.Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("GET with a wrong password: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

func sessionIsActive(t *testing.T, c *vim25.Client, id, user string) bool {
	t.Helper()
	res, err := methods.SessionIsActive(context.Background(), c, &types.SessionIsActive{
		This: *c.ServiceContent.SessionManager, SessionID: id, UserName: user,
	})
	if err != nil {
		t.Fatalf("SessionIsActive(%s): %v", id, err)
	}
	return res.Returnval
}

// TestSessions: currentSession is the cookie's session, SessionIsActive answers for session
// keys of logged-in users only, clone tickets are single-use and no sessions themselves.
func TestSessions(t *testing.T) {
	ctx := context.Background()
	lab, c := startTestLab(t, "prem", t.TempDir())
	opts := DefaultOptions()
	us, err := c.SessionManager.UserSession(ctx)
	if err != nil || us == nil {
		t.Fatalf("currentSession: %v %v", us, err)
	}
	if us.Key != cookieOf(t, c) || us.UserName != opts.Username || us.LoginTime.IsZero() {
		t.Errorf("currentSession: %+v", us)
	}

	other, err := login(lab, opts.Username, opts.Password)
	if err != nil {
		t.Fatal(err)
	}
	them, err := other.SessionManager.UserSession(ctx)
	if err != nil || them.Key == us.Key || them.Key != cookieOf(t, other) {
		t.Fatalf("second session: %+v %v", them, err)
	}
	if !sessionIsActive(t, c.Client, them.Key, opts.Username) || !sessionIsActive(t, c.Client, us.Key, opts.Username) {
		t.Error("SessionIsActive false for logged-in sessions")
	}
	if sessionIsActive(t, c.Client, them.Key, "someone@else") || sessionIsActive(t, c.Client, "no-such-session", opts.Username) {
		t.Error("SessionIsActive true for a wrong user or an unknown key")
	}

	// Clone ticket: not a session, single use, gives a new session of the same user.
	ticket, err := c.SessionManager.AcquireCloneTicket(ctx)
	if err != nil || ticket == "" {
		t.Fatal(ticket, err)
	}
	if sessionIsActive(t, c.Client, ticket, opts.Username) {
		t.Error("SessionIsActive true for a clone ticket")
	}
	raw := rawLogin(t, lab)
	raw.cookie = ticket
	if st, body := raw.post(t, retrieveVMs); st != 500 || !strings.Contains(body, "NotAuthenticated") {
		t.Errorf("clone ticket as cookie: %d %s", st, body)
	}
	clone, err := vim25.NewClient(ctx, soap.NewClient(lab.URL, true))
	if err != nil {
		t.Fatal(err)
	}
	cloned := &govmomi.Client{Client: clone, SessionManager: session.NewManager(clone)}
	if err := cloned.SessionManager.CloneSession(ctx, ticket); err != nil {
		t.Fatalf("CloneSession: %v", err)
	}
	cs, err := cloned.SessionManager.UserSession(ctx)
	if err != nil || cs.UserName != opts.Username || cs.Key == us.Key || cs.Key == ticket {
		t.Errorf("cloned currentSession: %+v %v", cs, err)
	}
	if !sessionIsActive(t, c.Client, cs.Key, opts.Username) {
		t.Error("cloned session not active")
	}
	again, _ := vim25.NewClient(ctx, soap.NewClient(lab.URL, true))
	if _, ok := faultOf(t, session.NewManager(again).CloneSession(ctx, ticket)).(types.InvalidLogin); !ok {
		t.Error("second CloneSession with the same ticket: want InvalidLogin")
	}

	// Logout ends a session for SessionIsActive too.
	if err := other.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if sessionIsActive(t, c.Client, them.Key, opts.Username) {
		t.Error("SessionIsActive true after Logout")
	}
	if err := cloned.SessionManager.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}
