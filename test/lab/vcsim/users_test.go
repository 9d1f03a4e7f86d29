package main

import (
	"context"
	"net/url"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// TestLabUsersAndPrivileges: the built-in users log in, keep their name through clone tickets,
// and HasPrivilegeOnEntities answers from their role.
func TestLabUsersAndPrivileges(t *testing.T) {
	lab, admin := startTestLab(t, "prem", t.TempDir())
	ctx := context.Background()
	pass := DefaultOptions().Password
	if _, err := login(lab, "viewer@vsphere.local", "wrong"); err == nil {
		t.Fatal("viewer logged in with a wrong password")
	}
	viewer, err := login(lab, "viewer@vsphere.local", pass)
	if err != nil {
		t.Fatalf("viewer login: %v", err)
	}
	defer func() { _ = viewer.Logout(ctx) }()
	noaccess, err := login(lab, "noaccess@vsphere.local", pass)
	if err != nil {
		t.Fatalf("noaccess login: %v", err)
	}
	defer func() { _ = noaccess.Logout(ctx) }()

	am := object.NewAuthorizationManager(admin.Client)
	privs := []string{"System.Read", "VirtualMachine.Inventory.Register"}
	root := admin.ServiceContent.RootFolder
	check := func(c *vim25.Client, key string, want ...bool) {
		t.Helper()
		res, err := methods.HasPrivilegeOnEntities(ctx, c, &types.HasPrivilegeOnEntities{This: am.Reference(), Entity: []types.ManagedObjectReference{root}, SessionId: key, PrivId: privs})
		if err != nil {
			t.Fatalf("HasPrivilegeOnEntities: %v", err)
		}
		for i, p := range res.Returnval[0].PrivAvailability {
			if p.PrivId != privs[i] || p.IsGranted != want[i] {
				t.Errorf("session %s: %s granted %v, want %v", key, p.PrivId, p.IsGranted, want[i])
			}
		}
	}
	vs, _ := viewer.SessionManager.UserSession(ctx)
	ns, _ := noaccess.SessionManager.UserSession(ctx)
	as, _ := admin.SessionManager.UserSession(ctx)
	check(admin.Client, as.Key, true, true)
	check(admin.Client, vs.Key, true, false)
	check(viewer.Client, vs.Key, true, false)
	check(admin.Client, ns.Key, false, false)

	// A clone of the viewer's session is the viewer.
	ticket, err := viewer.SessionManager.AcquireCloneTicket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := vim25.NewClient(ctx, soap.NewClient(lab.URL, true))
	res, err := methods.CloneSession(ctx, vc, &types.CloneSession{This: *vc.ServiceContent.SessionManager, CloneTicket: ticket})
	if err != nil || res.Returnval.UserName != "viewer@vsphere.local" {
		t.Fatalf("CloneSession of the viewer: %v %+v", err, res)
	}
	key := cookieOfClient(t, vc, lab.URL)
	check(admin.Client, key, true, false)
}

func cookieOfClient(t *testing.T, c *vim25.Client, u *url.URL) string {
	t.Helper()
	for _, ck := range c.Client.Jar.Cookies(u) {
		if ck.Name == soap.SessionCookieName {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}
