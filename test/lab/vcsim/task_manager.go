package main

// task_manager.go adds TaskManager.CreateTask and the Task methods an extension uses to drive
// its own tasks (SetTaskState, UpdateProgress, SetTaskDescription, CancelTask); vcsim 0.24.2
// has none of them. HDM shows its long operations as vCenter tasks this way.
//
// Semantics follow vCenter:
//   - CreateTask accepts only a taskTypeId listed in the taskList of a registered extension,
//     else InvalidArgument (invalidProperty "taskTypeId"); the task starts "queued".
//   - SetTaskState on a task that already ended (success/error) is InvalidState.
//   - UpdateProgress only while "running" (else InvalidState); percentDone outside 0..100 is
//     OutOfBounds.
//   - CancelTask on a non-cancelable task is NotSupported, on an ended task InvalidState;
//     otherwise it sets info.cancelled and leaves the state to the task's owner, who is
//     expected to end it (usually with a RequestCanceled fault).
// Every change goes through simulator.Map.Update, so property collectors and
// WaitForUpdatesEx see it.

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// TaskManager wraps vcsim's TaskManager (whose recentTask bookkeeping it keeps) and adds
// CreateTask.
//
// The simulator serializes SOAP calls per object with the object's sync.Locker. vcsim's
// TaskManager is one (embedded Mutex) and its PutObject handler takes that same mutex when a
// new Task is put into the inventory; CreateTask puts a Task while the call holds the lock.
// So the wrapper answers Lock/Unlock with a mutex of its own.
type TaskManager struct {
	simulator.TaskManager // first field: the property collector finds mo.TaskManager through it

	callMu sync.Mutex
	events int32 // last eventChainId handed out
}

func (m *TaskManager) Lock()   { m.callMu.Lock() }
func (m *TaskManager) Unlock() { m.callMu.Unlock() }

func installTaskManager() {
	si := simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance)
	orig := simulator.Map.Get(*si.Content.TaskManager).(*simulator.TaskManager)
	m := &TaskManager{}
	m.TaskManager.TaskManager = orig.TaskManager // copy the mo fields, not the mutex
	simulator.Map.Put(m)
	simulator.Map.AddHandler(m) // replaces the original's handler: same MoRef
}

// Task is a task created through TaskManager.CreateTask. The Go type name makes the
// simulator give it a "Task" MoRef ("task-N"), which vcsim's TaskManager adds to recentTask.
type Task struct {
	mo.Task
}

func (m *TaskManager) CreateTask(ctx *simulator.Context, req *types.CreateTask) soap.HasFault {
	body := new(methods.CreateTaskBody)
	em := currentExtensionManager()
	if em == nil || !em.TaskTypeRegistered(req.TaskTypeId) {
		body.Fault_ = simulator.Fault(
			fmt.Sprintf("A specified parameter was not correct: taskTypeId (%q is not in the taskList of a registered extension)", req.TaskTypeId),
			&types.InvalidArgument{InvalidProperty: "taskTypeId"})
		return body
	}
	entity := simulator.Map.Get(req.Obj)
	if entity == nil {
		body.Fault_ = simulator.Fault(fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", req.Obj),
			&types.ManagedObjectNotFound{Obj: req.Obj})
		return body
	}
	user := req.InitiatedBy
	if user == "" && ctx.Session != nil {
		user = ctx.Session.UserName
	}
	m.events++ // callMu is held: the simulator locks the TaskManager around the call

	task := &Task{}
	obj := req.Obj
	task.Info = types.TaskInfo{
		DescriptionId: req.TaskTypeId,
		Entity:        &obj,
		EntityName:    entityName(entity),
		State:         types.TaskInfoStateQueued,
		Cancelable:    req.Cancelable,
		Reason:        &types.TaskReasonUser{UserName: user},
		QueueTime:     time.Now(),
		EventChainId:  m.events,
		ParentTaskKey: req.ParentTaskKey,
		ActivationId:  req.ActivationId,
	}
	simulator.Map.Put(task) // assigns task-N; vcsim's TaskManager.PutObject updates recentTask
	simulator.Map.Update(task, []types.PropertyChange{
		{Name: "info.key", Val: task.Self.Value},
		{Name: "info.task", Val: task.Self},
	})
	if e, ok := entity.(mo.Entity); ok {
		recent := append(append([]types.ManagedObjectReference(nil), e.Entity().RecentTask...), task.Self)
		simulator.Map.Update(entity, []types.PropertyChange{{Name: "recentTask", Val: recent}})
	}
	body.Res = &types.CreateTaskResponse{Returnval: task.Info}
	return body
}

func ended(state types.TaskInfoState) bool {
	return state == types.TaskInfoStateSuccess || state == types.TaskInfoStateError
}

func invalidState(msg string) *soap.Fault {
	return simulator.Fault(msg, new(types.InvalidState))
}

func (t *Task) SetTaskState(req *types.SetTaskState) soap.HasFault {
	body := new(methods.SetTaskStateBody)
	if ended(t.Info.State) {
		body.Fault_ = invalidState(fmt.Sprintf("The operation is not allowed in the current state: task %s is %s", t.Self.Value, t.Info.State))
		return body
	}
	switch req.State {
	case types.TaskInfoStateQueued, types.TaskInfoStateRunning, types.TaskInfoStateSuccess, types.TaskInfoStateError:
	default:
		body.Fault_ = simulator.Fault("A specified parameter was not correct: state", &types.InvalidArgument{InvalidProperty: "state"})
		return body
	}
	now := time.Now()
	changes := []types.PropertyChange{{Name: "info.state", Val: req.State}}
	if req.State == types.TaskInfoStateRunning && t.Info.StartTime == nil {
		changes = append(changes, types.PropertyChange{Name: "info.startTime", Val: now})
	}
	if ended(req.State) {
		if t.Info.StartTime == nil {
			changes = append(changes, types.PropertyChange{Name: "info.startTime", Val: now})
		}
		changes = append(changes, types.PropertyChange{Name: "info.completeTime", Val: now})
		if req.State == types.TaskInfoStateSuccess {
			changes = append(changes, types.PropertyChange{Name: "info.progress", Val: int32(100)})
		}
	}
	if req.Result != nil {
		changes = append(changes, types.PropertyChange{Name: "info.result", Val: req.Result})
	}
	if req.Fault != nil {
		changes = append(changes, types.PropertyChange{Name: "info.error", Val: req.Fault})
	}
	simulator.Map.Update(t, changes)
	body.Res = new(types.SetTaskStateResponse)
	return body
}

func (t *Task) UpdateProgress(req *types.UpdateProgress) soap.HasFault {
	body := new(methods.UpdateProgressBody)
	if t.Info.State != types.TaskInfoStateRunning {
		body.Fault_ = invalidState(fmt.Sprintf("The operation is not allowed in the current state: task %s is %s, not running", t.Self.Value, t.Info.State))
		return body
	}
	if req.PercentDone < 0 || req.PercentDone > 100 {
		body.Fault_ = simulator.Fault(fmt.Sprintf("Argument percentDone is out of bounds: %d", req.PercentDone),
			&types.OutOfBounds{ArgumentName: "percentDone"})
		return body
	}
	simulator.Map.Update(t, []types.PropertyChange{{Name: "info.progress", Val: req.PercentDone}})
	body.Res = new(types.UpdateProgressResponse)
	return body
}

func (t *Task) SetTaskDescription(req *types.SetTaskDescription) soap.HasFault {
	body := new(methods.SetTaskDescriptionBody)
	d := req.Description
	simulator.Map.Update(t, []types.PropertyChange{{Name: "info.description", Val: &d}})
	body.Res = new(types.SetTaskDescriptionResponse)
	return body
}

func (t *Task) CancelTask(req *types.CancelTask) soap.HasFault {
	body := new(methods.CancelTaskBody)
	switch {
	case !t.Info.Cancelable:
		body.Fault_ = simulator.Fault(fmt.Sprintf("The operation is not supported on the object: task %s is not cancelable", t.Self.Value),
			new(types.NotSupported))
	case ended(t.Info.State):
		body.Fault_ = invalidState(fmt.Sprintf("The operation is not allowed in the current state: task %s is %s", t.Self.Value, t.Info.State))
	default:
		simulator.Map.Update(t, []types.PropertyChange{{Name: "info.cancelled", Val: true}})
		body.Res = new(types.CancelTaskResponse)
	}
	return body
}
