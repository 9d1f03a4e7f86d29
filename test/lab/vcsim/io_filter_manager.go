package main

// io_filter_manager.go adds the IoFilterManager (VAIO filters) that vcsim 0.24.2 names in its
// ServiceContent but does not serve. HDM installs its IO analyzer filter on a cluster and
// storage policies (pbm.go) require it.
//
// Semantics (vCenter's, reduced to what the lab can show):
//   - InstallIoFilter_Task(vibUrl, compRes) returns a Task on the cluster. The VIB is not
//     downloaded: its file name `<name>-<version>.vib` (version starts with a digit) gives the
//     filter: name, version, id `HDM_bootbank_<name>_<version>`, vendor HDM, type inspection.
//     A URL whose file name does not fit is InvalidArgument (vibUrl) as the task's error; a
//     filter of that name already installed on the cluster is AlreadyExists (name = its id).
//   - UninstallIoFilter_Task(filterId, compRes): a filter id not installed there is NotFound.
//   - QueryIoFilterInfo(compRes) lists ClusterIoFilterInfo (opType install, vibUrl) sorted by id.
//     (QueryIssue is newer than govmomi 0.24's vim25 definitions: the strict layer refuses it.)
//   - compRes must be a ComputeResource or ClusterComputeResource (else
//     ManagedObjectNotFound / InvalidArgument compRes), checked before a task is created.
// State is per cluster and lives as long as the lab process.

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// IoFilterManager answers at the ServiceContent's ioFilterManager MoRef.
type IoFilterManager struct {
	mo.IoFilterManager

	mu        sync.Mutex
	installed map[types.ManagedObjectReference]map[string]types.ClusterIoFilterInfo // cluster → id → info
}

func installIoFilterManager() {
	si := simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance)
	ref := types.ManagedObjectReference{Type: "IoFilterManager", Value: "IoFilterManager"}
	if si.Content.IoFilterManager != nil {
		ref = *si.Content.IoFilterManager
	} else {
		si.Content.IoFilterManager = &ref
	}
	m := &IoFilterManager{installed: map[types.ManagedObjectReference]map[string]types.ClusterIoFilterInfo{}}
	m.Self = ref
	simulator.Map.Put(m)
}

// currentIoFilterManager is the lab's IoFilterManager (nil before installIoFilterManager).
func currentIoFilterManager() *IoFilterManager {
	si := simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance)
	if si.Content.IoFilterManager == nil {
		return nil
	}
	m, _ := simulator.Map.Get(*si.Content.IoFilterManager).(*IoFilterManager)
	return m
}

var vibName = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_.-]*?)-([0-9][A-Za-z0-9._-]*)\.vib$`)

// filterFromVib derives the filter a VIB URL installs.
func filterFromVib(vibURL string) (types.ClusterIoFilterInfo, bool) {
	u, err := url.Parse(vibURL)
	if err != nil || u.Scheme == "" {
		return types.ClusterIoFilterInfo{}, false
	}
	m := vibName.FindStringSubmatch(path.Base(u.Path))
	if m == nil {
		return types.ClusterIoFilterInfo{}, false
	}
	return types.ClusterIoFilterInfo{
		IoFilterInfo: types.IoFilterInfo{
			Id: fmt.Sprintf("HDM_bootbank_%s_%s", m[1], m[2]), Name: m[1], Vendor: "HDM", Version: m[2],
			Type: string(types.IoFilterTypeInspection), Summary: m[1] + " IO filter",
		},
		OpType: "install",
		VibUrl: vibURL,
	}, true
}

// computeResource checks compRes.
func computeResource(ref types.ManagedObjectReference) (mo.Entity, *soap.Fault) {
	obj := simulator.Map.Get(ref)
	switch e := obj.(type) {
	case *simulator.ClusterComputeResource:
		return e, nil
	case *mo.ComputeResource:
		return e, nil
	case nil:
		return nil, managedObjectNotFound(ref)
	}
	return nil, simulator.Fault("A specified parameter was not correct: compRes", &types.InvalidArgument{InvalidProperty: "compRes"})
}

// filterInstalled reports whether a filter named name is installed on cluster.
func (m *IoFilterManager) filterInstalled(cluster types.ManagedObjectReference, name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.installed[cluster] {
		if f.Name == name {
			return true
		}
	}
	return false
}

// runTask creates a task on the cluster named like vCenter's (IoFilterManager.<op>) and runs it.
func runTask(cluster mo.Entity, op string, run func() types.BaseMethodFault) types.ManagedObjectReference {
	task := simulator.CreateTask(cluster, op, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, run()
	})
	simulator.Map.Update(task, []types.PropertyChange{{Name: "info.descriptionId", Val: "IoFilterManager." + op}})
	return task.Run()
}

func (m *IoFilterManager) InstallIoFilterTask(req *types.InstallIoFilter_Task) soap.HasFault {
	body := new(methods.InstallIoFilter_TaskBody)
	cluster, f := computeResource(req.CompRes)
	if f != nil {
		body.Fault_ = f
		return body
	}
	ref := runTask(cluster, "installIoFilter", func() types.BaseMethodFault {
		info, ok := filterFromVib(req.VibUrl)
		if !ok {
			return &types.InvalidArgument{InvalidProperty: "vibUrl"}
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		for id, have := range m.installed[req.CompRes] {
			if have.Name == info.Name {
				return &types.AlreadyExists{Name: id}
			}
		}
		if m.installed[req.CompRes] == nil {
			m.installed[req.CompRes] = map[string]types.ClusterIoFilterInfo{}
		}
		m.installed[req.CompRes][info.Id] = info
		return nil
	})
	body.Res = &types.InstallIoFilter_TaskResponse{Returnval: ref}
	return body
}

func (m *IoFilterManager) UninstallIoFilterTask(req *types.UninstallIoFilter_Task) soap.HasFault {
	body := new(methods.UninstallIoFilter_TaskBody)
	cluster, f := computeResource(req.CompRes)
	if f != nil {
		body.Fault_ = f
		return body
	}
	ref := runTask(cluster, "uninstallIoFilter", func() types.BaseMethodFault {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.installed[req.CompRes][req.FilterId]; !ok {
			return new(types.NotFound)
		}
		delete(m.installed[req.CompRes], req.FilterId)
		return nil
	})
	body.Res = &types.UninstallIoFilter_TaskResponse{Returnval: ref}
	return body
}

func (m *IoFilterManager) QueryIoFilterInfo(req *types.QueryIoFilterInfo) soap.HasFault {
	body := new(methods.QueryIoFilterInfoBody)
	if _, f := computeResource(req.CompRes); f != nil {
		body.Fault_ = f
		return body
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	res := &types.QueryIoFilterInfoResponse{}
	for _, info := range m.installed[req.CompRes] {
		res.Returnval = append(res.Returnval, info)
	}
	sort.Slice(res.Returnval, func(i, j int) bool { return res.Returnval[i].Id < res.Returnval[j].Id })
	body.Res = res
	return body
}
