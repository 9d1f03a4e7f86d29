package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/guest"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var guestAuth = &types.NamePasswordAuthentication{Username: "root", Password: "HdmGuest!2026"}

func guestManagers(t *testing.T, c *govmomi.Client, vm *object.VirtualMachine) (*guest.ProcessManager, *guest.FileManager) {
	t.Helper()
	om := guest.NewOperationsManager(c.Client, vm.Reference())
	pm, err := om.ProcessManager(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fm, err := om.FileManager(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pm, fm
}

// waitProcess polls ListProcessesInGuest until pid has ended.
func waitProcess(t *testing.T, pm *guest.ProcessManager, pid int64) types.GuestProcessInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, err := pm.ListProcesses(context.Background(), guestAuth, []int64{pid})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("ListProcesses(%d) = %d entries", pid, len(list))
		}
		if list[0].EndTime != nil {
			return list[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d did not end", pid)
	return types.GuestProcessInfo{}
}

func TestGuestOperations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lab, c := startTestLab(t, "prem", dir)
	web := findVM(t, c, "web-01") // powered on
	pm, fm := guestManagers(t, c, web)

	// The guest root exists with busybox and its applets.
	root := filepath.Join(dir, "guests", "web-01")
	for _, p := range []string{"bin/busybox", "bin/sh", "bin/ls", "etc/passwd"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("guest root: %v", err)
		}
	}
	var vmo mo.VirtualMachine
	if err := web.Properties(ctx, web.Reference(), []string{"guest.toolsRunningStatus"}, &vmo); err != nil {
		t.Fatal(err)
	}
	if vmo.Guest.ToolsRunningStatus != "guestToolsRunning" {
		t.Fatalf("toolsRunningStatus = %q", vmo.Guest.ToolsRunningStatus)
	}

	t.Run("upload, run, download", func(t *testing.T) {
		script := []byte("#!/bin/sh\necho \"hello $GREETING from $(pwd) as $(id -u)\" > /tmp/out.txt\nexit 7\n")
		attr := &types.GuestPosixFileAttributes{Permissions: 0o755}
		u, err := fm.InitiateFileTransferToGuest(ctx, guestAuth, "/tmp/run.sh", attr, int64(len(script)), false)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u, "/guestFile?id=") || !strings.Contains(u, "token=") {
			t.Fatalf("transfer URL %s", u)
		}
		turl, err := fm.TransferURL(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		p := soap.DefaultUpload
		p.ContentLength = int64(len(script))
		if err := c.Client.Upload(ctx, bytes.NewReader(script), turl, &p); err != nil {
			t.Fatal(err)
		}
		// The token was single-use.
		if err := c.Client.Upload(ctx, bytes.NewReader(script), turl, &p); err == nil {
			t.Fatal("second upload with the same token succeeded")
		}
		st, err := os.Stat(filepath.Join(root, "tmp", "run.sh"))
		if err != nil || st.Mode().Perm() != 0o755 {
			t.Fatalf("uploaded script: %v %v", st, err)
		}
		// Not overwriting an existing file is FileAlreadyExists.
		_, err = fm.InitiateFileTransferToGuest(ctx, guestAuth, "/tmp/run.sh", attr, 1, false)
		if _, ok := faultOf(t, err).(types.FileAlreadyExists); !ok {
			t.Fatalf("fault %T, want FileAlreadyExists", faultOf(t, err))
		}

		pid, err := pm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{
			ProgramPath: "/tmp/run.sh", WorkingDirectory: "/tmp", EnvVariables: []string{"GREETING=hdm"},
		})
		if err != nil {
			t.Fatal(err)
		}
		info := waitProcess(t, pm, pid)
		if info.ExitCode != 7 || info.Owner != "root" || info.Name != "run.sh" || info.CmdLine != "/tmp/run.sh" {
			t.Fatalf("process info %+v", info)
		}

		fi, err := fm.InitiateFileTransferFromGuest(ctx, guestAuth, "/tmp/out.txt")
		if err != nil {
			t.Fatal(err)
		}
		turl, err = fm.TransferURL(ctx, fi.Url)
		if err != nil {
			t.Fatal(err)
		}
		rc, n, err := c.Client.Download(ctx, turl, &soap.DefaultDownload)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(rc)
		_ = rc.Close()
		if string(out) != "hello hdm from /tmp as 0\n" || n != int64(len(out)) || fi.Size != n {
			t.Fatalf("downloaded %q (%d bytes, announced %d)", out, n, fi.Size)
		}
	})

	t.Run("shell redirection in arguments, terminate", func(t *testing.T) {
		pid, err := pm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{
			ProgramPath: "/bin/sh", Arguments: `-c "uname -s; ls /bin | wc -l" > /tmp/ls.txt 2>&1`,
		})
		if err != nil {
			t.Fatal(err)
		}
		if info := waitProcess(t, pm, pid); info.ExitCode != 0 {
			t.Fatalf("exit %d", info.ExitCode)
		}
		b, err := os.ReadFile(filepath.Join(root, "tmp", "ls.txt"))
		if err != nil || !strings.HasPrefix(string(b), "Linux\n") {
			t.Fatalf("ls.txt %q %v", b, err)
		}
		pid, err = pm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{ProgramPath: "/bin/sleep", Arguments: "60"})
		if err != nil {
			t.Fatal(err)
		}
		list, err := pm.ListProcesses(ctx, guestAuth, nil)
		if err != nil || len(list) < 3 {
			t.Fatalf("ListProcesses: %d %v", len(list), err)
		}
		if err := pm.TerminateProcess(ctx, guestAuth, pid); err != nil {
			t.Fatal(err)
		}
		if info := waitProcess(t, pm, pid); info.ExitCode != 128+9 {
			t.Fatalf("terminated exit code %d", info.ExitCode)
		}
		err = pm.TerminateProcess(ctx, guestAuth, 1)
		if f, ok := faultOf(t, err).(types.GuestProcessNotFound); !ok || f.Pid != 1 {
			t.Fatalf("fault %#v, want GuestProcessNotFound", faultOf(t, err))
		}
	})

	t.Run("environment and files", func(t *testing.T) {
		env, err := pm.ReadEnvironmentVariable(ctx, guestAuth, []string{"HOME"})
		if err != nil || len(env) != 1 || env[0] != "HOME=/root" {
			t.Fatalf("env %v %v", env, err)
		}
		if err := fm.MakeDirectory(ctx, guestAuth, "/opt/hdm/bin", true); err != nil {
			t.Fatal(err)
		}
		tmp, err := fm.CreateTemporaryDirectory(ctx, guestAuth, "hdm-", ".d", "")
		if err != nil || !strings.HasPrefix(tmp, "/tmp/hdm-") {
			t.Fatalf("temp dir %q %v", tmp, err)
		}
		list, err := fm.ListFiles(ctx, guestAuth, "/opt/hdm", 0, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, f := range list.Files {
			found = found || (f.Path == "bin" && f.Type == "directory")
		}
		if !found {
			t.Fatalf("ListFiles /opt/hdm: %+v", list.Files)
		}
		matched, err := fm.ListFiles(ctx, guestAuth, "/tmp", 0, 0, "hdm-*")
		if err != nil || len(matched.Files) != 1 || "/tmp/"+matched.Files[0].Path != tmp {
			t.Fatalf("ListFiles /tmp hdm-*: %+v %v", matched, err)
		}
		if err := fm.DeleteFile(ctx, guestAuth, "/tmp/run.sh"); err != nil {
			t.Fatal(err)
		}
		err = fm.DeleteFile(ctx, guestAuth, "/tmp/run.sh")
		if _, ok := faultOf(t, err).(types.FileNotFound); !ok {
			t.Fatalf("fault %T, want FileNotFound", faultOf(t, err))
		}
		if err := fm.DeleteDirectory(ctx, guestAuth, "/opt", true); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("symlinks stay inside the guest", func(t *testing.T) {
		pid, err := pm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{ProgramPath: "/bin/ln", Arguments: "-s /etc/passwd /tmp/pw"})
		if err != nil {
			t.Fatal(err)
		}
		waitProcess(t, pm, pid)
		fi, err := fm.InitiateFileTransferFromGuest(ctx, guestAuth, "/tmp/pw")
		if err != nil {
			t.Fatal(err)
		}
		turl, _ := fm.TransferURL(ctx, fi.Url)
		rc, _, err := c.Client.Download(ctx, turl, &soap.DefaultDownload)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		if string(b) != "root:x:0:0:root:/root:/bin/sh\n" {
			t.Fatalf("/tmp/pw resolved outside the guest: %q", b)
		}
	})

	t.Run("transfer URL rules", func(t *testing.T) {
		// A PUT must carry exactly fileSize bytes; a GET on an upload URL is 405; tokens are per VM.
		u, err := fm.InitiateFileTransferToGuest(ctx, guestAuth, "/tmp/sized", &types.GuestPosixFileAttributes{}, 4, true)
		if err != nil {
			t.Fatal(err)
		}
		turl, _ := fm.TransferURL(ctx, u)
		if code, _, _ := httpDo(t, "GET", turl.String(), "", nil, nil); code != 405 {
			t.Fatalf("GET on an upload URL: %d", code)
		}
		if code, _, _ := httpDo(t, "PUT", turl.String(), "", nil, strings.NewReader("12345")); code != 400 {
			t.Fatalf("PUT of 5 bytes for fileSize 4: %d", code)
		}
		u, _ = fm.InitiateFileTransferToGuest(ctx, guestAuth, "/tmp/sized", &types.GuestPosixFileAttributes{}, 4, true)
		turl, _ = fm.TransferURL(ctx, u)
		other := turl.Query()
		other.Set("id", "vm-0")
		wrongVM := *turl
		wrongVM.RawQuery = other.Encode()
		if code, _, _ := httpDo(t, "PUT", wrongVM.String(), "", nil, strings.NewReader("1234")); code != 404 {
			t.Fatalf("token used for another VM: %d", code)
		}
		if code, _, _ := httpDo(t, "PUT", turl.String(), "", nil, strings.NewReader("1234")); code != 200 {
			t.Fatalf("PUT without a session cookie (the token is the credential): %d", code)
		}
		if b, err := os.ReadFile(filepath.Join(root, "tmp", "sized")); err != nil || string(b) != "1234" {
			t.Fatalf("sized file %q %v", b, err)
		}
		if _, err := fm.InitiateFileTransferToGuest(ctx, guestAuth, "/no/such/dir/f", &types.GuestPosixFileAttributes{}, 1, false); err == nil {
			t.Fatal("upload into a missing directory accepted")
		} else if _, ok := faultOf(t, err).(types.FileNotFound); !ok {
			t.Fatalf("fault %T, want FileNotFound", faultOf(t, err))
		}
	})

	t.Run("refusals", func(t *testing.T) {
		// Without a session: NotAuthenticated, as every vCenter call.
		vc, err := vim25.NewClient(ctx, soap.NewClient(lab.URL, true))
		if err != nil {
			t.Fatal(err)
		}
		_, err = methods.StartProgramInGuest(ctx, vc, &types.StartProgramInGuest{
			This: pm.Reference(), Vm: web.Reference(), Auth: guestAuth, Spec: &types.GuestProgramSpec{ProgramPath: "/bin/true"},
		})
		if _, ok := faultOf(t, err).(types.NotAuthenticated); !ok {
			t.Fatalf("fault %T, want NotAuthenticated", faultOf(t, err))
		}
		_, err = pm.StartProgram(ctx, &types.NamePasswordAuthentication{Username: "root", Password: "wrong"},
			&types.GuestProgramSpec{ProgramPath: "/bin/true"})
		if _, ok := faultOf(t, err).(types.InvalidGuestLogin); !ok {
			t.Fatalf("fault %T, want InvalidGuestLogin", faultOf(t, err))
		}
		_, err = pm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{ProgramPath: "/no/such"})
		if _, ok := faultOf(t, err).(types.FileNotFound); !ok {
			t.Fatalf("fault %T, want FileNotFound", faultOf(t, err))
		}
		off := findVM(t, c, "app-01") // powered off
		opm, _ := guestManagers(t, c, off)
		_, err = opm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{ProgramPath: "/bin/true"})
		if f, ok := faultOf(t, err).(types.InvalidPowerState); !ok || f.ExistingState != types.VirtualMachinePowerStatePoweredOff {
			t.Fatalf("fault %#v, want InvalidPowerState", faultOf(t, err))
		}
		// Powering off kills the guest's programs and stops its tools; powering on starts them.
		pid, err := pm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{ProgramPath: "/bin/sleep", Arguments: "60"})
		if err != nil {
			t.Fatal(err)
		}
		task, err := web.PowerOff(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, err = pm.ListProcesses(ctx, guestAuth, []int64{pid})
		if _, ok := faultOf(t, err).(types.InvalidPowerState); !ok {
			t.Fatalf("fault %T, want InvalidPowerState", faultOf(t, err))
		}
		task, err = web.PowerOn(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		list, err := pm.ListProcesses(ctx, guestAuth, []int64{pid})
		if err != nil || len(list) != 1 || list[0].EndTime == nil {
			t.Fatalf("after power cycle: %+v %v", list, err)
		}
	})

	t.Run("a VM created later gets a guest when powered on", func(t *testing.T) {
		f := finder(t, c)
		folder, err := f.DefaultFolder(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := f.DefaultResourcePool(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res := mustTask(t, ctx)(folder.CreateVM(ctx, types.VirtualMachineConfigSpec{
			Name: "migrated-01", GuestId: "otherLinux64Guest", NumCPUs: 1, MemoryMB: 512,
			Files: &types.VirtualMachineFileInfo{VmPathName: "[prem-ds]"},
		}, pool, nil))
		vm := object.NewVirtualMachine(c.Client, res.Result.(types.ManagedObjectReference))
		mustTask(t, ctx)(vm.PowerOn(ctx))
		npm, _ := guestManagers(t, c, vm)
		pid, err := npm.StartProgram(ctx, guestAuth, &types.GuestProgramSpec{ProgramPath: "/bin/true"})
		if err != nil {
			t.Fatal(err)
		}
		if info := waitProcess(t, npm, pid); info.ExitCode != 0 {
			t.Fatalf("exit %d", info.ExitCode)
		}
		if _, err := os.Stat(filepath.Join(dir, "guests", "migrated-01", "bin", "busybox")); err != nil {
			t.Fatal(err)
		}
	})
}
