package main

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestCreateTask(t *testing.T) {
	ctx := context.Background()
	_, c := startTestLab(t, "prem", t.TempDir())
	vm, err := find.NewFinder(c.Client, true).VirtualMachine(ctx, "/prem-dc/vm/app-01")
	if err != nil {
		t.Fatal(err)
	}

	// Unregistered task type.
	_, err = createTask(ctx, c, vm.Reference(), taskType, true)
	if ia, ok := faultOf(t, err).(types.InvalidArgument); !ok || ia.InvalidProperty != "taskTypeId" {
		t.Fatalf("CreateTask before registration fault = %#v", faultOf(t, err))
	}
	if err := object.NewExtensionManager(c.Client).Register(ctx, hdmExtension("1.0.0")); err != nil {
		t.Fatal(err)
	}
	_, err = createTask(ctx, c, vm.Reference(), "com.hdm.plugin.task.unknown", true)
	if _, ok := faultOf(t, err).(types.InvalidArgument); !ok {
		t.Fatalf("CreateTask unknown type fault = %#v", faultOf(t, err))
	}

	info, err := createTask(ctx, c, vm.Reference(), taskType, true)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	if info.State != types.TaskInfoStateQueued || info.DescriptionId != taskType || info.EntityName != "app-01" ||
		info.Key != info.Task.Value || info.Task.Type != "Task" {
		t.Fatalf("TaskInfo = %+v", info)
	}
	if r, ok := info.Reason.(*types.TaskReasonUser); !ok || r.UserName != "hdm" {
		t.Errorf("reason = %#v", info.Reason)
	}
	task := object.NewTask(c.Client, info.Task)

	var tm mo.TaskManager
	if err := c.RetrieveOne(ctx, *c.ServiceContent.TaskManager, []string{"recentTask"}, &tm); err != nil {
		t.Fatal(err)
	}
	if !containsRef(tm.RecentTask, info.Task) {
		t.Errorf("TaskManager.recentTask lacks %s", info.Task)
	}
	var vmo mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"recentTask"}, &vmo); err != nil {
		t.Fatal(err)
	}
	if !containsRef(vmo.RecentTask, info.Task) {
		t.Errorf("app-01 recentTask lacks %s", info.Task)
	}

	// UpdateProgress needs a running task.
	if _, ok := faultOf(t, task.UpdateProgress(ctx, 10)).(types.InvalidState); !ok {
		t.Error("UpdateProgress on a queued task did not fault with InvalidState")
	}

	// Drive the task while a property collector waits for the changes.
	seen := make(chan types.TaskInfo, 16)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	waitDone := make(chan error, 1)
	go func() {
		pc := property.DefaultCollector(c.Client)
		waitDone <- property.Wait(wctx, pc, info.Task, []string{"info"}, func(changes []types.PropertyChange) bool {
			for _, ch := range changes {
				if ti, ok := ch.Val.(types.TaskInfo); ok {
					seen <- ti
					if ti.State == types.TaskInfoStateSuccess {
						return true
					}
				}
			}
			return false
		})
	}()
	if err := task.SetState(ctx, types.TaskInfoStateRunning, nil, nil); err != nil {
		t.Fatalf("SetTaskState running: %v", err)
	}
	waitFor(t, seen, func(ti types.TaskInfo) bool { return ti.State == types.TaskInfoStateRunning && ti.StartTime != nil })
	if err := task.UpdateProgress(ctx, 40); err != nil {
		t.Fatalf("UpdateProgress: %v", err)
	}
	waitFor(t, seen, func(ti types.TaskInfo) bool { return ti.Progress == 40 })
	if _, ok := faultOf(t, task.UpdateProgress(ctx, 140)).(types.OutOfBounds); !ok {
		t.Error("UpdateProgress 140 did not fault with OutOfBounds")
	}
	if err := task.SetDescription(ctx, types.LocalizableMessage{Key: "com.hdm.copy", Message: "Copying disks"}); err != nil {
		t.Fatalf("SetTaskDescription: %v", err)
	}
	waitFor(t, seen, func(ti types.TaskInfo) bool {
		return ti.Description != nil && ti.Description.Message == "Copying disks"
	})
	if err := task.Cancel(ctx); err != nil {
		t.Fatalf("CancelTask: %v", err)
	}
	waitFor(t, seen, func(ti types.TaskInfo) bool { return ti.Cancelled && ti.State == types.TaskInfoStateRunning })
	if err := task.SetState(ctx, types.TaskInfoStateSuccess, "done", nil); err != nil {
		t.Fatalf("SetTaskState success: %v", err)
	}
	waitFor(t, seen, func(ti types.TaskInfo) bool {
		return ti.State == types.TaskInfoStateSuccess && ti.CompleteTime != nil && ti.Result == "done"
	})
	if err := <-waitDone; err != nil {
		t.Fatalf("property.Wait: %v", err)
	}
	if _, ok := faultOf(t, task.SetState(ctx, types.TaskInfoStateRunning, nil, nil)).(types.InvalidState); !ok {
		t.Error("SetTaskState after success did not fault with InvalidState")
	}

	// A failing, non-cancelable task; its fault is what task.Wait reports.
	info2, err := createTask(ctx, c, vm.Reference(), taskType, false)
	if err != nil {
		t.Fatal(err)
	}
	task2 := object.NewTask(c.Client, info2.Task)
	if _, ok := faultOf(t, task2.Cancel(ctx)).(types.NotSupported); !ok {
		t.Error("CancelTask of a non-cancelable task did not fault with NotSupported")
	}
	fault := &types.LocalizedMethodFault{Fault: &types.RequestCanceled{}, LocalizedMessage: "stopped"}
	if err := task2.SetState(ctx, types.TaskInfoStateError, nil, fault); err != nil {
		t.Fatal(err)
	}
	_, err = task2.WaitForResult(ctx, nil)
	if err == nil || err.Error() != "stopped" {
		t.Errorf("WaitForResult of the failed task = %v, want \"stopped\"", err)
	}
}

func waitFor(t *testing.T, seen chan types.TaskInfo, ok func(types.TaskInfo) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ti := <-seen:
			if ok(ti) {
				return
			}
		case <-timeout:
			t.Fatal("change not seen through WaitForUpdatesEx")
		}
	}
}

func containsRef(refs []types.ManagedObjectReference, ref types.ManagedObjectReference) bool {
	for _, r := range refs {
		if r == ref {
			return true
		}
	}
	return false
}
