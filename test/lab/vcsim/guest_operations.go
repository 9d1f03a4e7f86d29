package main

// guest_operations.go is the lab's VMware Tools: GuestOperationsManager's process and file
// managers acting on the lab guests (guest_root.go). vcsim 0.24 only has file-transfer stubs
// that need a Docker container per VM; the harness answers these calls itself (intercept.go
// hands them here) for every VM that has a guest root:
//
//   - Preconditions in vCenter's order: the VM exists (ManagedObjectNotFound), is powered on
//     (InvalidPowerState), its tools run (guest.toolsRunningStatus guestToolsRunning, else
//     GuestOperationsUnavailable), and auth is NamePasswordAuthentication root /
//     "HdmGuest!2026" (InvalidGuestLogin otherwise).
//   - StartProgramInGuest runs `/bin/sh -c '<programPath> <arguments>'` chrooted into the guest
//     root, as root, in its own process group, with the spec's working directory (default
//     /root) and environment on top of the tools' environment; stdout/stderr are discarded
//     as VMware Tools does (redirect them in the arguments). The pid is the real pid.
//     ListProcessesInGuest lists the programs started so (endTime and exitCode once ended;
//     a program killed by signal N reports 128+N); TerminateProcessInGuest kills the process
//     group (GuestProcessNotFound for unknown pids); ReadEnvironmentVariableInGuest reads the
//     tools' environment.
//   - InitiateFileTransferToGuest / FromGuest return https://<host>/guestFile?id=<vm>&token=<t>
//     (host = the Host the client called). The token is single-use and valid 10 minutes; a
//     PUT with exactly fileSize bytes stores the file (mode from GuestPosixFileAttributes,
//     FileAlreadyExists unless overwrite), a GET serves it. No session cookie is needed on
//     these URLs (the token is the credential), as with ESXi.
//   - MakeDirectoryInGuest, CreateTemporaryDirectoryInGuest, DeleteFileInGuest,
//     DeleteDirectoryInGuest, ListFilesInGuest work on the guest root.
//   - Power: the harness sets toolsRunningStatus guestToolsRunning on powered-on VMs at start
//     and after PowerOnVM_Task/ResetVM_Task, guestToolsNotRunning after power-off/suspend;
//     powering off kills the guest's processes.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

const guestTransferTTL = 10 * time.Minute

// guestBaseEnv is the environment of the lab's tools daemon, inherited by guest programs.
var guestBaseEnv = []string{
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh",
}

// guestEagerLimit: inventories up to this many VMs get their guest roots at start; larger
// (scale) inventories build a VM's root at its first guest operation.
const guestEagerLimit = 64

type guestOps struct {
	mu        sync.Mutex
	base      string              // <data-dir>/guests
	guests    map[string]*guestVM // VM MoRef value → guest
	transfers map[string]*guestTransfer
}

type guestVM struct {
	name, root string
	procs      map[int64]*guestProcess
	build      sync.Once
	buildErr   error
}

type guestProcess struct {
	info types.GuestProcessInfo
	cmd  *exec.Cmd
	done chan struct{}
}

type guestTransfer struct {
	vm        string // MoRef value
	host      string // resolved host path
	upload    bool
	size      int64
	overwrite bool
	mode      os.FileMode
	expires   time.Time
}

// newGuestOps builds a guest root for every VM of the inventory under dataDir/guests (see
// guestEagerLimit) and marks the tools of powered-on VMs running. Processes are killed when closing is closed.
func newGuestOps(dataDir string, closing <-chan struct{}) (*guestOps, error) {
	g := &guestOps{guests: map[string]*guestVM{}, transfers: map[string]*guestTransfer{}}
	base := filepath.Join(dataDir, "guests")
	if err := os.RemoveAll(base); err != nil {
		return nil, err
	}
	g.base = base
	vms := simulator.Map.All("VirtualMachine")
	if len(vms) <= guestEagerLimit { // in parallel: the time is file-system latency
		errs := make(chan error, len(vms))
		for _, e := range vms {
			go func(vm *simulator.VirtualMachine) {
				_, err := g.guest(vm)
				errs <- err
			}(e.(*simulator.VirtualMachine))
		}
		for range vms {
			if err := <-errs; err != nil {
				return nil, err
			}
		}
	}
	for _, e := range vms {
		vm := e.(*simulator.VirtualMachine)
		setToolsRunning(vm, vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn)
	}
	go func() {
		<-closing
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, gv := range g.guests {
			gv.killAll()
		}
	}()
	return g, nil
}

// guest returns vm's guest, building its root on first use (one build per VM at a time).
func (g *guestOps) guest(vm *simulator.VirtualMachine) (*guestVM, error) {
	g.mu.Lock()
	gv := g.guests[vm.Self.Value]
	if gv == nil {
		gv = &guestVM{name: vm.Name, root: filepath.Join(g.base, vm.Name), procs: map[int64]*guestProcess{}}
		g.guests[vm.Self.Value] = gv
	}
	g.mu.Unlock()
	gv.build.Do(func() { gv.buildErr = buildGuestRoot(gv.root) })
	if gv.buildErr != nil {
		return nil, gv.buildErr
	}
	return gv, nil
}

func setToolsRunning(vm *simulator.VirtualMachine, running bool) {
	status, tools, state := types.VirtualMachineToolsRunningStatusGuestToolsNotRunning, types.VirtualMachineToolsStatusToolsNotRunning, "notRunning"
	if running {
		status, tools, state = types.VirtualMachineToolsRunningStatusGuestToolsRunning, types.VirtualMachineToolsStatusToolsOk, "running"
	}
	simulator.Map.WithLock(vm, func() {
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "guest.toolsRunningStatus", Val: string(status)},
			{Name: "guest.toolsStatus", Val: tools},
			{Name: "guest.guestState", Val: state},
			{Name: "guest.toolsVersionStatus2", Val: string(types.VirtualMachineToolsVersionStatusGuestToolsCurrent)},
			{Name: "summary.guest.toolsRunningStatus", Val: string(status)},
			{Name: "summary.guest.toolsStatus", Val: tools},
		})
	})
}

// killAll kills the guest's running programs (g.mu held) and returns their done channels.
func (gv *guestVM) killAll() []chan struct{} {
	var running []chan struct{}
	for _, p := range gv.procs {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-int(p.info.Pid), syscall.SIGKILL)
			running = append(running, p.done)
		}
	}
	return running
}

// guestFault is a fault answer with vCenter's message.
type guestFault struct {
	msg   string
	fault types.BaseMethodFault
}

func invalidGuestLogin() *guestFault {
	return &guestFault{"Failed to authenticate with the guest operating system using the supplied credentials.", &types.InvalidGuestLogin{}}
}

func guestFileNotFound(p string) *guestFault {
	return &guestFault{fmt.Sprintf("File %s was not found", p), &types.FileNotFound{FileFault: types.FileFault{File: p}}}
}

func guestSystemError(err error) *guestFault {
	return &guestFault{err.Error(), &types.SystemError{Reason: err.Error()}}
}

// prepare checks the preconditions of a guest operation on vmRef.
func (g *guestOps) prepare(vmRef types.ManagedObjectReference, auth types.BaseGuestAuthentication) (*guestVM, *guestFault) {
	vm, ok := simulator.Map.Get(vmRef).(*simulator.VirtualMachine)
	if !ok {
		return nil, &guestFault{fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", vmRef.Value),
			&types.ManagedObjectNotFound{Obj: vmRef}}
	}
	var state types.VirtualMachinePowerState
	var tools string
	simulator.Map.WithLock(vm, func() {
		state = vm.Runtime.PowerState
		if vm.Guest != nil {
			tools = vm.Guest.ToolsRunningStatus
		}
	})
	if state != types.VirtualMachinePowerStatePoweredOn {
		return nil, &guestFault{fmt.Sprintf("The attempted operation cannot be performed in the current state (%s).", powerStateText(state)),
			&types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: state}}
	}
	if tools != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		return nil, &guestFault{"The guest operations agent could not be contacted.", &types.GuestOperationsUnavailable{}}
	}
	gv, err := g.guest(vm)
	if err != nil {
		log.Printf("guest root of %s: %v", vm.Name, err)
		return nil, &guestFault{"The guest operations agent could not be contacted.", &types.GuestOperationsUnavailable{}}
	}
	creds, ok := auth.(*types.NamePasswordAuthentication)
	if !ok || creds.Username != guestUser || creds.Password != guestPassword {
		return nil, invalidGuestLogin()
	}
	return gv, nil
}

// prepareFile is prepare plus the guest path mapped into the guest root (most file calls need both).
func (g *guestOps) prepareFile(vmRef types.ManagedObjectReference, auth types.BaseGuestAuthentication, p string, followLast bool) (*guestVM, string, *guestFault) {
	gv, f := g.prepare(vmRef, auth)
	if f != nil {
		return nil, "", f
	}
	hp, f := gv.path(p, followLast)
	if f != nil {
		return nil, "", f
	}
	return gv, hp, nil
}

func (gv *guestVM) path(p string, followLast bool) (string, *guestFault) {
	host, err := resolveGuestPath(gv.root, p, followLast)
	if err != nil {
		if errors.Is(err, errNotAbsolute) {
			return "", &guestFault{fmt.Sprintf("A specified parameter was not correct: %q is not an absolute path", p),
				&types.InvalidArgument{InvalidProperty: "path"}}
		}
		return "", guestSystemError(err)
	}
	return host, nil
}

// fileFault maps an OS error on guest path p to the fault the tools would give.
func fileFault(p string, err error) *guestFault {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return guestFileNotFound(p)
	case errors.Is(err, os.ErrExist):
		return &guestFault{fmt.Sprintf("File %s already exists", p), &types.FileAlreadyExists{FileFault: types.FileFault{File: p}}}
	case errors.Is(err, syscall.ENOTEMPTY):
		return &guestFault{fmt.Sprintf("Directory %s is not empty", p), &types.DirectoryNotEmpty{FileFault: types.FileFault{File: p}}}
	case errors.Is(err, syscall.EISDIR):
		return &guestFault{fmt.Sprintf("%s is not a file", p), &types.NotAFile{FileFault: types.FileFault{File: p}}}
	case errors.Is(err, syscall.ENOTDIR):
		return &guestFault{fmt.Sprintf("%s is not a directory", p), &types.NotADirectory{FileFault: types.FileFault{File: p}}}
	}
	return &guestFault{fmt.Sprintf("Cannot access file %s: %v", p, err), &types.FileFault{File: p}}
}

// serveGuestCall answers the GuestProcessManager/GuestFileManager call req; host is the Host
// header of the request (for transfer URLs).
func (g *guestOps) serveGuestCall(w http.ResponseWriter, host string, req interface{}) {
	res, f := g.call(host, req)
	if f != nil {
		writeMethodFault(w, f.msg, f.fault)
		return
	}
	writeResult(w, res)
}

func (g *guestOps) call(host string, req interface{}) (interface{}, *guestFault) {
	switch r := req.(type) {
	case *types.StartProgramInGuest:
		gv, f := g.prepare(r.Vm, r.Auth)
		if f != nil {
			return nil, f
		}
		pid, f := g.start(gv, r.Spec)
		if f != nil {
			return nil, f
		}
		return &types.StartProgramInGuestResponse{Returnval: pid}, nil
	case *types.ListProcessesInGuest:
		gv, f := g.prepare(r.Vm, r.Auth)
		if f != nil {
			return nil, f
		}
		return &types.ListProcessesInGuestResponse{Returnval: g.list(gv, r.Pids)}, nil
	case *types.TerminateProcessInGuest:
		gv, f := g.prepare(r.Vm, r.Auth)
		if f != nil {
			return nil, f
		}
		g.mu.Lock()
		p := gv.procs[r.Pid]
		g.mu.Unlock()
		if p == nil {
			return nil, &guestFault{fmt.Sprintf("The guest process %d was not found", r.Pid), &types.GuestProcessNotFound{Pid: r.Pid}}
		}
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-int(r.Pid), syscall.SIGKILL)
			<-p.done
		}
		return &types.TerminateProcessInGuestResponse{}, nil
	case *types.ReadEnvironmentVariableInGuest:
		if _, f := g.prepare(r.Vm, r.Auth); f != nil {
			return nil, f
		}
		var out []string
		for _, kv := range guestBaseEnv {
			name := kv[:strings.IndexByte(kv, '=')]
			if len(r.Names) == 0 || containsString(r.Names, name) {
				out = append(out, kv)
			}
		}
		return &types.ReadEnvironmentVariableInGuestResponse{Returnval: out}, nil
	case *types.InitiateFileTransferToGuest:
		_, hp, f := g.prepareFile(r.Vm, r.Auth, r.GuestFilePath, true)
		if f != nil {
			return nil, f
		}
		if st, err := os.Stat(hp); err == nil {
			if st.IsDir() {
				return nil, fileFault(r.GuestFilePath, syscall.EISDIR)
			}
			if !r.Overwrite {
				return nil, fileFault(r.GuestFilePath, os.ErrExist)
			}
		} else if st, err := os.Stat(filepath.Dir(hp)); err != nil || !st.IsDir() {
			return nil, guestFileNotFound(path.Dir(r.GuestFilePath))
		}
		if r.FileSize < 0 {
			return nil, &guestFault{"A specified parameter was not correct: fileSize", &types.InvalidArgument{InvalidProperty: "fileSize"}}
		}
		mode := os.FileMode(0o644)
		if a, ok := r.FileAttributes.(*types.GuestPosixFileAttributes); ok && a.Permissions != 0 {
			mode = os.FileMode(a.Permissions) & os.ModePerm
		}
		u := g.newTransfer(host, &guestTransfer{vm: r.Vm.Value, host: hp, upload: true, size: r.FileSize, overwrite: r.Overwrite, mode: mode})
		return &types.InitiateFileTransferToGuestResponse{Returnval: u}, nil
	case *types.InitiateFileTransferFromGuest:
		_, hp, f := g.prepareFile(r.Vm, r.Auth, r.GuestFilePath, true)
		if f != nil {
			return nil, f
		}
		st, err := os.Stat(hp)
		if err != nil {
			return nil, fileFault(r.GuestFilePath, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fileFault(r.GuestFilePath, syscall.EISDIR)
		}
		u := g.newTransfer(host, &guestTransfer{vm: r.Vm.Value, host: hp, size: st.Size()})
		return &types.InitiateFileTransferFromGuestResponse{Returnval: types.FileTransferInformation{
			Attributes: posixAttributes(st), Size: st.Size(), Url: u,
		}}, nil
	case *types.MakeDirectoryInGuest:
		_, hp, f := g.prepareFile(r.Vm, r.Auth, r.DirectoryPath, true)
		if f != nil {
			return nil, f
		}
		var err error
		if r.CreateParentDirectories {
			err = os.MkdirAll(hp, 0o755)
		} else {
			err = os.Mkdir(hp, 0o755)
		}
		if err != nil {
			return nil, fileFault(r.DirectoryPath, err)
		}
		return &types.MakeDirectoryInGuestResponse{}, nil
	case *types.CreateTemporaryDirectoryInGuest:
		gv, f := g.prepare(r.Vm, r.Auth)
		if f != nil {
			return nil, f
		}
		dir := r.DirectoryPath
		if dir == "" {
			dir = "/tmp"
		}
		hp, f := gv.path(dir, true)
		if f != nil {
			return nil, f
		}
		created, err := os.MkdirTemp(hp, r.Prefix+"*"+r.Suffix)
		if err != nil {
			return nil, fileFault(dir, err)
		}
		return &types.CreateTemporaryDirectoryInGuestResponse{Returnval: path.Join(dir, filepath.Base(created))}, nil
	case *types.DeleteFileInGuest:
		_, hp, f := g.prepareFile(r.Vm, r.Auth, r.FilePath, false)
		if f != nil {
			return nil, f
		}
		st, err := os.Lstat(hp)
		if err != nil {
			return nil, fileFault(r.FilePath, err)
		}
		if st.IsDir() {
			return nil, fileFault(r.FilePath, syscall.EISDIR)
		}
		if err := os.Remove(hp); err != nil {
			return nil, fileFault(r.FilePath, err)
		}
		return &types.DeleteFileInGuestResponse{}, nil
	case *types.DeleteDirectoryInGuest:
		gv, hp, f := g.prepareFile(r.Vm, r.Auth, r.DirectoryPath, false)
		if f != nil {
			return nil, f
		}
		st, err := os.Lstat(hp)
		if err != nil {
			return nil, fileFault(r.DirectoryPath, err)
		}
		if !st.IsDir() || hp == gv.root {
			return nil, fileFault(r.DirectoryPath, syscall.ENOTDIR)
		}
		if r.Recursive {
			err = os.RemoveAll(hp)
		} else {
			err = syscall.Rmdir(hp)
		}
		if err != nil {
			return nil, fileFault(r.DirectoryPath, err)
		}
		return &types.DeleteDirectoryInGuestResponse{}, nil
	case *types.ListFilesInGuest:
		gv, f := g.prepare(r.Vm, r.Auth)
		if f != nil {
			return nil, f
		}
		return listGuestFiles(gv, r)
	}
	return nil, &guestFault{fmt.Sprintf("%T not supported", req), &types.NotSupported{}}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func posixAttributes(st os.FileInfo) *types.GuestPosixFileAttributes {
	mt := st.ModTime()
	a := &types.GuestPosixFileAttributes{Permissions: int64(st.Mode().Perm())}
	a.ModificationTime = &mt
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		uid, gid := int32(s.Uid), int32(s.Gid)
		a.OwnerId, a.GroupId = &uid, &gid
		at := time.Unix(s.Atim.Sec, s.Atim.Nsec)
		a.AccessTime = &at
	}
	return a
}

func listGuestFiles(gv *guestVM, r *types.ListFilesInGuest) (interface{}, *guestFault) {
	hp, f := gv.path(r.FilePath, true)
	if f != nil {
		return nil, f
	}
	st, err := os.Stat(hp)
	if err != nil {
		return nil, fileFault(r.FilePath, err)
	}
	var infos []types.GuestFileInfo
	add := func(name string, st os.FileInfo) {
		if r.MatchPattern != "" {
			if ok, _ := filepath.Match(r.MatchPattern, name); !ok {
				return
			}
		}
		kind := "file"
		switch {
		case st.IsDir():
			kind = "directory"
		case st.Mode()&os.ModeSymlink != 0:
			kind = "symlink"
		}
		infos = append(infos, types.GuestFileInfo{Path: name, Type: kind, Size: st.Size(), Attributes: posixAttributes(st)})
	}
	if !st.IsDir() {
		add(path.Base(r.FilePath), st)
	} else {
		entries, err := os.ReadDir(hp)
		if err != nil {
			return nil, fileFault(r.FilePath, err)
		}
		add(".", st)
		if pst, err := os.Stat(filepath.Dir(hp)); err == nil {
			add("..", pst)
		}
		for _, e := range entries {
			if est, err := os.Lstat(filepath.Join(hp, e.Name())); err == nil {
				add(e.Name(), est)
			}
		}
	}
	start := int(r.Index)
	if start > len(infos) {
		start = len(infos)
	}
	infos = infos[start:]
	remaining := 0
	if r.MaxResults > 0 && int(r.MaxResults) < len(infos) {
		remaining = len(infos) - int(r.MaxResults)
		infos = infos[:r.MaxResults]
	}
	return &types.ListFilesInGuestResponse{Returnval: types.GuestListFileInfo{Files: infos, Remaining: int32(remaining)}}, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// start runs spec in the guest and returns its pid.
func (g *guestOps) start(gv *guestVM, base types.BaseGuestProgramSpec) (int64, *guestFault) {
	spec := base.GetGuestProgramSpec()
	prog, f := gv.path(spec.ProgramPath, true)
	if f != nil {
		return 0, f
	}
	st, err := os.Stat(prog)
	if err != nil {
		return 0, fileFault(spec.ProgramPath, err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return 0, &guestFault{fmt.Sprintf("Permission to execute %s is denied", spec.ProgramPath), &types.GuestPermissionDenied{}}
	}
	wd := spec.WorkingDirectory
	if wd == "" {
		wd = "/root"
	}
	hwd, f := gv.path(wd, true)
	if f != nil {
		return 0, f
	}
	if st, err := os.Stat(hwd); err != nil || !st.IsDir() {
		return 0, guestFileNotFound(wd)
	}
	env := append([]string(nil), guestBaseEnv...)
	for _, kv := range spec.EnvVariables {
		name := kv
		if i := strings.IndexByte(kv, '='); i >= 0 {
			name = kv[:i]
		}
		for i := range env {
			if strings.HasPrefix(env[i], name+"=") {
				env = append(env[:i], env[i+1:]...)
				break
			}
		}
		env = append(env, kv)
	}
	cmdLine := spec.ProgramPath
	if spec.Arguments != "" {
		cmdLine += " " + spec.Arguments
	}
	cmd := &exec.Cmd{
		Path: "/bin/sh", // inside the chroot
		Args: []string{"sh", "-c", shellQuote(spec.ProgramPath) + " " + spec.Arguments},
		Env:  env,
		Dir:  hwd[len(gv.root):],
		SysProcAttr: &syscall.SysProcAttr{
			Chroot: gv.root, Setpgid: true, Credential: &syscall.Credential{Uid: 0, Gid: 0},
		},
	}
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	if err := cmd.Start(); err != nil {
		return 0, guestSystemError(err)
	}
	p := &guestProcess{cmd: cmd, done: make(chan struct{})}
	p.info = types.GuestProcessInfo{
		Name: path.Base(spec.ProgramPath), Pid: int64(cmd.Process.Pid), Owner: guestUser, CmdLine: cmdLine, StartTime: time.Now(),
	}
	g.mu.Lock()
	gv.procs[p.info.Pid] = p
	g.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		code := int32(cmd.ProcessState.ExitCode())
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int32(ws.Signal())
		}
		end := time.Now()
		g.mu.Lock()
		p.info.EndTime = &end
		p.info.ExitCode = code
		g.mu.Unlock()
		close(p.done)
	}()
	return p.info.Pid, nil
}

func (g *guestOps) list(gv *guestVM, pids []int64) []types.GuestProcessInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []types.GuestProcessInfo
	for pid, p := range gv.procs {
		if len(pids) == 0 || containsPid(pids, pid) {
			out = append(out, p.info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

func containsPid(list []int64, pid int64) bool {
	for _, x := range list {
		if x == pid {
			return true
		}
	}
	return false
}

func (g *guestOps) newTransfer(host string, t *guestTransfer) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	t.expires = time.Now().Add(guestTransferTTL)
	g.mu.Lock()
	g.transfers[token] = t
	g.mu.Unlock()
	return "https://" + host + "/guestFile?id=" + t.vm + "&token=" + token
}

// serveGuestFile serves PUT (to guest) and GET (from guest) on /guestFile.
func (g *guestOps) serveGuestFile(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	g.mu.Lock()
	t := g.transfers[token]
	if t != nil && (time.Now().After(t.expires) || t.vm != r.URL.Query().Get("id")) {
		t = nil
	}
	if t != nil && ((t.upload && r.Method == http.MethodPut) || (!t.upload && (r.Method == http.MethodGet || r.Method == http.MethodHead))) {
		if r.Method != http.MethodHead {
			delete(g.transfers, token) // single use
		}
	} else if t != nil {
		g.mu.Unlock()
		http.Error(w, "method not allowed for this transfer", http.StatusMethodNotAllowed)
		return
	}
	g.mu.Unlock()
	if t == nil {
		http.Error(w, "unknown or expired guest file transfer", http.StatusNotFound)
		return
	}
	if !t.upload {
		f, err := os.Open(t.host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = io.Copy(w, f)
		}
		return
	}
	if r.ContentLength >= 0 && r.ContentLength != t.size {
		http.Error(w, fmt.Sprintf("Content-Length %d differs from the announced fileSize %d", r.ContentLength, t.size), http.StatusBadRequest)
		return
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if !t.overwrite {
		flags |= os.O_EXCL
	}
	tmp := t.host + ".hdm-upload"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, t.mode)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n, err := io.Copy(f, io.LimitReader(r.Body, t.size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != t.size {
		err = fmt.Errorf("received %d bytes, fileSize is %d", n, t.size)
	}
	if err == nil {
		err = os.Chmod(tmp, t.mode)
	}
	if err == nil && flags&os.O_EXCL != 0 {
		if _, serr := os.Lstat(t.host); serr == nil {
			err = os.ErrExist
		}
	}
	if err == nil {
		err = os.Rename(tmp, t.host)
	}
	if err != nil {
		_ = os.Remove(tmp)
		log.Printf("guest file upload %s: %v", t.host, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// powerChanged updates tools state after a successful power operation on vmRef.
func (g *guestOps) powerChanged(vmRef types.ManagedObjectReference) {
	vm, ok := simulator.Map.Get(vmRef).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	g.mu.Lock()
	gv := g.guests[vmRef.Value] // nil for a VM without guest root yet (built at first use)
	g.mu.Unlock()
	var state types.VirtualMachinePowerState
	simulator.Map.WithLock(vm, func() { state = vm.Runtime.PowerState })
	on := state == types.VirtualMachinePowerStatePoweredOn
	if !on && gv != nil { // a powered-off guest runs nothing: its programs have ended when the task does
		g.mu.Lock()
		running := gv.killAll()
		g.mu.Unlock()
		for _, done := range running {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
		}
	}
	setToolsRunning(vm, on)
}
