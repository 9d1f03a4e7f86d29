package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

const analyzerVib = "https://127.0.0.1:8443/vib/hdm-analyzer-1.0.0.vib"
const analyzerID = "HDM_bootbank_hdm-analyzer_1.0.0"

// taskFault runs a _Task method's returned task to its end and returns its fault (nil on success).
func taskFault(ctx context.Context, t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference, err error) types.BaseMethodFault {
	t.Helper()
	if err != nil {
		t.Fatalf("task call: %v", err)
	}
	_, werr := object.NewTask(c.Client, ref).WaitForResult(ctx, nil)
	if werr == nil {
		return nil
	}
	te, ok := werr.(task.Error)
	if !ok {
		t.Fatalf("task error %T %v", werr, werr)
	}
	return te.Fault()
}

func installFilter(ctx context.Context, t *testing.T, c *govmomi.Client, vib string, cluster types.ManagedObjectReference) types.BaseMethodFault {
	res, err := methods.InstallIoFilter_Task(ctx, c.Client, &types.InstallIoFilter_Task{This: *c.ServiceContent.IoFilterManager, VibUrl: vib, CompRes: cluster})
	var ref types.ManagedObjectReference
	if res != nil {
		ref = res.Returnval
	}
	return taskFault(ctx, t, c, ref, err)
}

func uninstallFilter(ctx context.Context, t *testing.T, c *govmomi.Client, id string, cluster types.ManagedObjectReference) types.BaseMethodFault {
	res, err := methods.UninstallIoFilter_Task(ctx, c.Client, &types.UninstallIoFilter_Task{This: *c.ServiceContent.IoFilterManager, FilterId: id, CompRes: cluster})
	var ref types.ManagedObjectReference
	if res != nil {
		ref = res.Returnval
	}
	return taskFault(ctx, t, c, ref, err)
}

func queryFilters(ctx context.Context, t *testing.T, c *govmomi.Client, cluster types.ManagedObjectReference) []types.ClusterIoFilterInfo {
	t.Helper()
	res, err := methods.QueryIoFilterInfo(ctx, c.Client, &types.QueryIoFilterInfo{This: *c.ServiceContent.IoFilterManager, CompRes: cluster})
	if err != nil {
		t.Fatalf("QueryIoFilterInfo: %v", err)
	}
	return res.Returnval
}

func TestIoFilterManager(t *testing.T) {
	ctx := context.Background()
	_, c := startTestLab(t, "prem", t.TempDir())
	cl, err := find.NewFinder(c.Client, true).ClusterComputeResource(ctx, "/prem-dc/host/prem-cluster")
	if err != nil {
		t.Fatal(err)
	}
	cluster := cl.Reference()
	if got := queryFilters(ctx, t, c, cluster); len(got) != 0 {
		t.Fatalf("filters before install = %+v", got)
	}

	res, err := methods.InstallIoFilter_Task(ctx, c.Client, &types.InstallIoFilter_Task{This: *c.ServiceContent.IoFilterManager, VibUrl: analyzerVib, CompRes: cluster})
	if err != nil {
		t.Fatal(err)
	}
	info, err := object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil)
	if err != nil {
		t.Fatalf("install task: %v", err)
	}
	if info.DescriptionId != "IoFilterManager.installIoFilter" || info.Entity == nil || *info.Entity != cluster {
		t.Errorf("install task info = %+v", info)
	}
	got := queryFilters(ctx, t, c, cluster)
	if len(got) != 1 || got[0].Id != analyzerID || got[0].Name != "hdm-analyzer" || got[0].Version != "1.0.0" ||
		got[0].Vendor != "HDM" || got[0].OpType != "install" || got[0].VibUrl != analyzerVib {
		t.Fatalf("filters after install = %+v", got)
	}

	// Installing the filter again (any version) is AlreadyExists.
	f := installFilter(ctx, t, c, "https://127.0.0.1:8443/vib/hdm-analyzer-1.1.0.vib", cluster)
	if ae, ok := f.(*types.AlreadyExists); !ok || ae.Name != analyzerID {
		t.Fatalf("second install fault = %#v", f)
	}
	if f := installFilter(ctx, t, c, "https://127.0.0.1:8443/vib/not-a-vib.zip", cluster); f == nil {
		t.Fatal("install of a non-VIB URL succeeded")
	} else if ia, ok := f.(*types.InvalidArgument); !ok || ia.InvalidProperty != "vibUrl" {
		t.Fatalf("non-VIB fault = %#v", f)
	}
	// compRes must be a cluster: checked before a task exists.
	_, err = methods.InstallIoFilter_Task(ctx, c.Client, &types.InstallIoFilter_Task{This: *c.ServiceContent.IoFilterManager, VibUrl: analyzerVib, CompRes: c.ServiceContent.RootFolder})
	if ia, ok := faultOf(t, err).(types.InvalidArgument); !ok || ia.InvalidProperty != "compRes" {
		t.Fatalf("install on a folder fault = %#v", faultOf(t, err))
	}

	// Uninstall: unknown id NotFound, then the real one.
	if f := uninstallFilter(ctx, t, c, "HDM_bootbank_nothing_1.0", cluster); f == nil {
		t.Fatal("uninstall of an unknown filter succeeded")
	} else if _, ok := f.(*types.NotFound); !ok {
		t.Fatalf("uninstall unknown fault = %#v", f)
	}
	if f := uninstallFilter(ctx, t, c, analyzerID, cluster); f != nil {
		t.Fatalf("uninstall: %#v", f)
	}
	if got := queryFilters(ctx, t, c, cluster); len(got) != 0 {
		t.Fatalf("filters after uninstall = %+v", got)
	}
}
