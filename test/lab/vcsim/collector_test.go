package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vmNamesSpec selects the name of every VM in view.
func vmNamesSpec(v types.ManagedObjectReference) types.PropertyFilterSpec {
	return types.PropertyFilterSpec{
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name"}}},
		ObjectSet: []types.ObjectSpec{{Obj: v, Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{
			&types.TraversalSpec{Type: "ContainerView", Path: "view"},
		}}},
	}
}

// TestRetrievePropertiesExPaging: maxObjects pages the result behind single-use tokens.
func TestRetrievePropertiesExPaging(t *testing.T) {
	_, c := startTestLab(t, "prem", t.TempDir())
	ctx := context.Background()
	cv, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	pc := property.DefaultCollector(c.Client)
	req := &types.RetrievePropertiesEx{This: pc.Reference(), SpecSet: []types.PropertyFilterSpec{vmNamesSpec(cv.Reference())},
		Options: types.RetrieveOptions{MaxObjects: 3}}
	res, err := methods.RetrievePropertiesEx(ctx, c.Client, req)
	if err != nil {
		t.Fatal(err)
	}
	first := res.Returnval
	if first == nil || len(first.Objects) != 3 || first.Token == "" {
		t.Fatalf("first page: %+v", first)
	}
	seen := map[string]bool{}
	for _, o := range first.Objects {
		seen[o.PropSet[0].Val.(string)] = true
	}
	next, err := methods.ContinueRetrievePropertiesEx(ctx, c.Client, &types.ContinueRetrievePropertiesEx{This: pc.Reference(), Token: first.Token})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Returnval.Objects) != 1 || next.Returnval.Token != "" {
		t.Fatalf("last page: %+v", next.Returnval)
	}
	seen[next.Returnval.Objects[0].PropSet[0].Val.(string)] = true
	for _, n := range []string{"app-01", "db-01", "web-01", "web-02"} {
		if !seen[n] {
			t.Errorf("%s missing from the pages: %v", n, seen)
		}
	}
	// A token is single-use.
	_, err = methods.ContinueRetrievePropertiesEx(ctx, c.Client, &types.ContinueRetrievePropertiesEx{This: pc.Reference(), Token: first.Token})
	if f, ok := faultOf(t, err).(types.InvalidArgument); !ok || f.InvalidProperty != "token" {
		t.Fatalf("reused token: %v", err)
	}
	// Without maxObjects everything comes at once.
	req.Options = types.RetrieveOptions{}
	if res, err := methods.RetrievePropertiesEx(ctx, c.Client, req); err != nil || len(res.Returnval.Objects) != 4 || res.Returnval.Token != "" {
		t.Fatalf("unpaged: %v %+v", err, res)
	}
	// Cancel discards the rest; the token is then unknown.
	req.Options = types.RetrieveOptions{MaxObjects: 1}
	res, err = methods.RetrievePropertiesEx(ctx, c.Client, req)
	if err != nil || res.Returnval.Token == "" {
		t.Fatalf("paged: %v", err)
	}
	if _, err := methods.CancelRetrievePropertiesEx(ctx, c.Client, &types.CancelRetrievePropertiesEx{This: pc.Reference(), Token: res.Returnval.Token}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	_, err = methods.ContinueRetrievePropertiesEx(ctx, c.Client, &types.ContinueRetrievePropertiesEx{This: pc.Reference(), Token: res.Returnval.Token})
	if _, ok := faultOf(t, err).(types.InvalidArgument); !ok {
		t.Fatalf("after cancel: %v", err)
	}
	// A token belongs to the session that received it.
	res, err = methods.RetrievePropertiesEx(ctx, c.Client, req)
	if err != nil {
		t.Fatal(err)
	}
	other := loginAgain(t, c.Client)
	_, err = methods.ContinueRetrievePropertiesEx(ctx, other, &types.ContinueRetrievePropertiesEx{This: pc.Reference(), Token: res.Returnval.Token})
	if _, ok := faultOf(t, err).(types.InvalidArgument); !ok {
		t.Fatalf("token from another session: %v", err)
	}
}

// loginAgain opens a second session on the lab of c.
func loginAgain(t *testing.T, c *vim25.Client) *vim25.Client {
	t.Helper()
	u := c.URL()
	opts := DefaultOptions()
	sc := soap.NewClient(u, true)
	vc, err := vim25.NewClient(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := methods.Login(context.Background(), vc, &types.Login{This: *vc.ServiceContent.SessionManager, UserName: opts.Username, Password: opts.Password}); err != nil {
		t.Fatal(err)
	}
	return vc
}

// TestWaitForUpdatesExVersions: real versions, resumption after a lost answer, stale versions refused.
func TestWaitForUpdatesExVersions(t *testing.T) {
	_, c := startTestLab(t, "prem", t.TempDir())
	ctx := context.Background()
	vms, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := property.DefaultCollector(c.Client).Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := vmNamesSpec(vms.Reference())
	spec.PropSet[0].PathSet = []string{"name", "runtime.powerState"}
	if err := pc.CreateFilter(ctx, types.CreateFilter{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	wait := func(version string, secs int32) (*types.UpdateSet, error) {
		res, err := methods.WaitForUpdatesEx(ctx, c.Client, &types.WaitForUpdatesEx{This: pc.Reference(), Version: version,
			Options: &types.WaitOptions{MaxWaitSeconds: &secs}})
		if err != nil {
			return nil, err
		}
		return res.Returnval, nil
	}
	initial, err := wait("", 5)
	if err != nil || initial == nil || initial.Version != "1" {
		t.Fatalf("initial: %v %+v", err, initial)
	}
	if n := len(initial.FilterSet[0].ObjectSet); n != 4 {
		t.Fatalf("initial objects: %d", n)
	}
	// No change: the wait ends empty after maxWaitSeconds.
	if u, err := wait("1", 1); err != nil || u != nil {
		t.Fatalf("no change: %v %+v", err, u)
	}
	app := findVM(t, c, "app-01")
	task, err := app.PowerOn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := wait("1", 5)
	if err != nil || second == nil || second.Version != "2" || !hasChange(second, app.Reference(), "runtime.powerState", "poweredOn") {
		t.Fatalf("after power on: %v %+v", err, second)
	}
	// The answer for version 2 was "lost": asking again with 1 gives the same changes.
	again, err := wait("1", 5)
	if err != nil || again == nil || again.Version != "2" || !hasChange(again, app.Reference(), "runtime.powerState", "poweredOn") {
		t.Fatalf("resumed: %v %+v", err, again)
	}
	task, _ = app.PowerOff(ctx)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	third, err := wait("2", 5)
	if err != nil || third == nil || third.Version != "3" || !hasChange(third, app.Reference(), "runtime.powerState", "poweredOff") {
		t.Fatalf("after power off: %v %+v", err, third)
	}
	// A client that drops its connection mid-wait and asks again with the same version gets
	// the change at once: the new call ends the abandoned one and is answered from what it saw.
	dropped, drop := context.WithCancel(ctx)
	long := int32(30)
	go func() {
		_, _ = methods.WaitForUpdatesEx(dropped, c.Client, &types.WaitForUpdatesEx{This: pc.Reference(), Version: "3",
			Options: &types.WaitOptions{MaxWaitSeconds: &long}})
	}()
	time.Sleep(100 * time.Millisecond)
	drop()
	task, _ = app.PowerOn(ctx)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	fourth, err := wait("3", 10)
	if err != nil || fourth == nil || fourth.Version != "4" || !hasChange(fourth, app.Reference(), "runtime.powerState", "poweredOn") {
		t.Fatalf("after a dropped wait: %v %+v", err, fourth)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("resumed wait took %v", d)
	}

	// maxObjectUpdates pages an answer: truncated parts, one version each.
	pc2, err := property.DefaultCollector(c.Client).Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc2.CreateFilter(ctx, types.CreateFilter{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	three := int32(3)
	secs := int32(5)
	res, err := methods.WaitForUpdatesEx(ctx, c.Client, &types.WaitForUpdatesEx{This: pc2.Reference(),
		Options: &types.WaitOptions{MaxWaitSeconds: &secs, MaxObjectUpdates: three}})
	if err != nil || res.Returnval == nil || res.Returnval.Version != "1" || res.Returnval.Truncated == nil || !*res.Returnval.Truncated ||
		len(res.Returnval.FilterSet[0].ObjectSet) != 3 {
		t.Fatalf("first part: %v %+v", err, res)
	}
	res, err = methods.WaitForUpdatesEx(ctx, c.Client, &types.WaitForUpdatesEx{This: pc2.Reference(), Version: "1",
		Options: &types.WaitOptions{MaxWaitSeconds: &secs, MaxObjectUpdates: three}})
	if err != nil || res.Returnval == nil || res.Returnval.Version != "2" || (res.Returnval.Truncated != nil && *res.Returnval.Truncated) ||
		len(res.Returnval.FilterSet[0].ObjectSet) != 1 {
		t.Fatalf("last part: %v %+v", err, res)
	}
	for _, bad := range []string{"7", "abc", "-"} {
		_, err := wait(bad, 1)
		if _, ok := faultOf(t, err).(types.InvalidCollectorVersion); !ok {
			t.Errorf("version %q: %v", bad, err)
		}
	}
}

func hasChange(u *types.UpdateSet, obj types.ManagedObjectReference, name string, val interface{}) bool {
	for _, fs := range u.FilterSet {
		for _, os := range fs.ObjectSet {
			if os.Obj != obj {
				continue
			}
			for _, ch := range os.ChangeSet {
				if ch.Name == name && fmt.Sprint(ch.Val) == fmt.Sprint(val) {
					return true
				}
			}
		}
	}
	return false
}
