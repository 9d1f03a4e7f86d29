package main

import (
	"context"
	"net/url"
	"testing"

	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
)

// TestVapiLogin: the vAPI endpoint takes only the lab user's credentials; content library works.
func TestVapiLogin(t *testing.T) {
	_, c := startTestLab(t, "prem", t.TempDir())
	ctx := context.Background()
	opts := DefaultOptions()
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, url.UserPassword(opts.Username, "wrong")); err == nil {
		t.Fatal("vAPI login with a wrong password succeeded")
	}
	if err := rc.Login(ctx, url.UserPassword("someone", opts.Password)); err == nil {
		t.Fatal("vAPI login as an unknown user succeeded")
	}
	if err := rc.Login(ctx, url.UserPassword(opts.Username, opts.Password)); err != nil {
		t.Fatalf("vAPI login: %v", err)
	}
	m := library.NewManager(rc)
	libs, err := m.ListLibraries(ctx)
	if err != nil || len(libs) != 0 {
		t.Fatalf("libraries: %v %v", libs, err)
	}
	if err := rc.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}
