package main

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

const failedEvent = "com.hdm.plugin.migration.failed"

func eventAlarm(name, eventTypeID string) *types.AlarmSpec {
	return &types.AlarmSpec{
		Name: name, Description: "test alarm", Enabled: true,
		Expression: &types.OrAlarmExpression{Expression: []types.BaseAlarmExpression{
			&types.EventAlarmExpression{EventType: "EventEx", EventTypeId: eventTypeID, ObjectType: "VirtualMachine", Status: types.ManagedEntityStatusRed},
		}},
	}
}

func createAlarm(ctx context.Context, c *govmomi.Client, entity types.ManagedObjectReference, spec *types.AlarmSpec) (types.ManagedObjectReference, error) {
	res, err := methods.CreateAlarm(ctx, c.Client, &types.CreateAlarm{This: *c.ServiceContent.AlarmManager, Entity: entity, Spec: spec})
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	return res.Returnval, nil
}

func postVMEvent(ctx context.Context, t *testing.T, c *govmomi.Client, vm *object.VirtualMachine, typeID string) {
	t.Helper()
	ev := &types.EventEx{
		Event:       types.Event{Vm: &types.VmEventArgument{EntityEventArgument: types.EntityEventArgument{Name: vm.Name()}, Vm: vm.Reference()}},
		EventTypeId: typeID, Severity: "error", ObjectId: vm.Reference().Value, ObjectType: "VirtualMachine",
	}
	if _, err := methods.PostEvent(ctx, c.Client, &types.PostEvent{This: *c.ServiceContent.EventManager, EventToPost: ev}); err != nil {
		t.Fatalf("PostEvent: %v", err)
	}
}

func alarmStates(ctx context.Context, t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference) ([]types.AlarmState, types.ManagedEntityStatus) {
	t.Helper()
	var e mo.ManagedEntity
	if err := c.RetrieveOne(ctx, ref, []string{"triggeredAlarmState", "overallStatus"}, &e); err != nil {
		t.Fatal(err)
	}
	return e.TriggeredAlarmState, e.OverallStatus
}

func TestAlarmManager(t *testing.T) {
	ctx := context.Background()
	_, c := startTestLab(t, "prem", t.TempDir())
	finder := find.NewFinder(c.Client, true)
	vm, err := finder.VirtualMachine(ctx, "/prem-dc/vm/app-01")
	if err != nil {
		t.Fatal(err)
	}
	web, err := finder.VirtualMachine(ctx, "/prem-dc/vm/web-01")
	if err != nil {
		t.Fatal(err)
	}
	root := c.ServiceContent.RootFolder

	alarm, err := createAlarm(ctx, c, root, eventAlarm("HDM migration failed", failedEvent))
	if err != nil {
		t.Fatalf("CreateAlarm: %v", err)
	}
	if alarm.Type != "Alarm" {
		t.Fatalf("alarm ref = %v", alarm)
	}
	_, err = createAlarm(ctx, c, root, eventAlarm("HDM migration failed", failedEvent))
	if d, ok := faultOf(t, err).(types.DuplicateName); !ok || d.Name != "HDM migration failed" {
		t.Fatalf("duplicate CreateAlarm fault = %#v", faultOf(t, err))
	}
	_, err = createAlarm(ctx, c, root, eventAlarm("", failedEvent))
	if _, ok := faultOf(t, err).(types.InvalidName); !ok {
		t.Fatalf("empty name fault = %#v", faultOf(t, err))
	}
	_, err = createAlarm(ctx, c, types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-nope"}, eventAlarm("x", failedEvent))
	if _, ok := faultOf(t, err).(types.ManagedObjectNotFound); !ok {
		t.Fatalf("unknown entity fault = %#v", faultOf(t, err))
	}

	got, err := methods.GetAlarm(ctx, c.Client, &types.GetAlarm{This: *c.ServiceContent.AlarmManager, Entity: &root})
	if err != nil || len(got.Returnval) != 1 || got.Returnval[0] != alarm {
		t.Fatalf("GetAlarm(root) = %v, %v", got, err)
	}
	var a mo.Alarm
	if err := c.RetrieveOne(ctx, alarm, []string{"info"}, &a); err != nil {
		t.Fatal(err)
	}
	if a.Info.Name != "HDM migration failed" || a.Info.Key != alarm.Value || a.Info.Alarm != alarm || a.Info.Entity != root {
		t.Fatalf("alarm info = %+v", a.Info)
	}
	if x := eventExpressions(a.Info.Expression); len(x) != 1 || x[0].EventTypeId != failedEvent {
		t.Fatalf("alarm expression = %#v", a.Info.Expression)
	}

	// Another event type triggers nothing.
	postVMEvent(ctx, t, c, vm, "com.hdm.plugin.migration.started")
	if states, _ := alarmStates(ctx, t, c, vm.Reference()); len(states) != 0 {
		t.Fatalf("states after another event = %+v", states)
	}

	// The matching event fires the alarm on the VM; WaitForUpdatesEx sees it.
	pc := property.DefaultCollector(c.Client)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() {
		time.Sleep(200 * time.Millisecond)
		postVMEvent(ctx, t, c, vm, failedEvent)
	}()
	var seen []types.AlarmState
	err = property.Wait(wctx, pc, vm.Reference(), []string{"triggeredAlarmState"}, func(changes []types.PropertyChange) bool {
		for _, ch := range changes {
			if v, ok := ch.Val.(types.ArrayOfAlarmState); ok && len(v.AlarmState) > 0 {
				seen = v.AlarmState
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("WaitForUpdatesEx did not see triggeredAlarmState: %v", err)
	}
	s := seen[0]
	if len(seen) != 1 || s.Alarm != alarm || s.Entity != vm.Reference() || s.OverallStatus != types.ManagedEntityStatusRed ||
		s.Key != alarm.Value+"."+vm.Reference().Value || time.Since(s.Time) > time.Minute || s.Acknowledged == nil || *s.Acknowledged {
		t.Fatalf("alarm state = %+v", seen)
	}
	if _, status := alarmStates(ctx, t, c, vm.Reference()); status != types.ManagedEntityStatusRed {
		t.Errorf("overallStatus = %s, want red", status)
	}
	if states, _ := alarmStates(ctx, t, c, web.Reference()); len(states) != 0 {
		t.Errorf("web-01 states = %+v", states)
	}
	// Propagated up the inventory: the root folder and the cluster list app-01's state, their
	// own status stays green.
	var vmPool mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"resourcePool"}, &vmPool); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []types.ManagedObjectReference{root, *vmPool.ResourcePool} {
		states, status := alarmStates(ctx, t, c, ref)
		if len(states) != 1 || states[0].Entity != vm.Reference() || states[0].Alarm != alarm || status != types.ManagedEntityStatusGreen {
			t.Fatalf("%s: states %+v status %s", ref, states, status)
		}
	}

	// Firing again keeps one state.
	postVMEvent(ctx, t, c, vm, failedEvent)
	if states, _ := alarmStates(ctx, t, c, vm.Reference()); len(states) != 1 {
		t.Fatalf("states after a second event = %+v", states)
	}

	// An alarm on a host covers the VMs on that host only.
	var vmo mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"runtime.host"}, &vmo); err != nil {
		t.Fatal(err)
	}
	hostAlarm, err := createAlarm(ctx, c, *vmo.Runtime.Host, eventAlarm("host scoped", "com.hdm.plugin.appliance.heartbeatLost"))
	if err != nil {
		t.Fatal(err)
	}
	var webo mo.VirtualMachine
	if err := web.Properties(ctx, web.Reference(), []string{"runtime.host"}, &webo); err != nil {
		t.Fatal(err)
	}
	postVMEvent(ctx, t, c, web, "com.hdm.plugin.appliance.heartbeatLost")
	states, _ := alarmStates(ctx, t, c, web.Reference())
	if sameHost := *webo.Runtime.Host == *vmo.Runtime.Host; sameHost != (len(states) == 1) {
		t.Fatalf("host-scoped alarm on web-01 (same host %v): %+v", sameHost, states)
	}
	postVMEvent(ctx, t, c, vm, "com.hdm.plugin.appliance.heartbeatLost")
	if states, _ := alarmStates(ctx, t, c, vm.Reference()); len(states) != 2 {
		t.Fatalf("app-01 states with the host alarm = %+v", states)
	}

	// AcknowledgeAlarm.
	if _, err := methods.AcknowledgeAlarm(ctx, c.Client, &types.AcknowledgeAlarm{This: *c.ServiceContent.AlarmManager, Alarm: alarm, Entity: vm.Reference()}); err != nil {
		t.Fatalf("AcknowledgeAlarm: %v", err)
	}
	states, _ = alarmStates(ctx, t, c, vm.Reference())
	for _, s := range states {
		if s.Alarm == alarm && (s.Acknowledged == nil || !*s.Acknowledged || s.AcknowledgedByUser == "") {
			t.Fatalf("acknowledged state = %+v", s)
		}
	}

	// RemoveAlarm clears what it triggered.
	for _, ref := range []types.ManagedObjectReference{alarm, hostAlarm} {
		if _, err := methods.RemoveAlarm(ctx, c.Client, &types.RemoveAlarm{This: ref}); err != nil {
			t.Fatalf("RemoveAlarm: %v", err)
		}
	}
	states, status := alarmStates(ctx, t, c, vm.Reference())
	if len(states) != 0 || status != types.ManagedEntityStatusGreen {
		t.Fatalf("after RemoveAlarm: %+v %s", states, status)
	}
	if states, _ := alarmStates(ctx, t, c, root); len(states) != 0 {
		t.Fatalf("root after RemoveAlarm: %+v", states)
	}
	got, err = methods.GetAlarm(ctx, c.Client, &types.GetAlarm{This: *c.ServiceContent.AlarmManager})
	if err != nil || len(got.Returnval) != 0 {
		t.Fatalf("GetAlarm after remove = %v, %v", got, err)
	}
}
