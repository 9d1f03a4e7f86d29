package main

// guest_root.go builds the lab guests: each VM's "guest operating system" is a root file
// system directory <data-dir>/guests/<vm-name>/ made from Debian's busybox-static (one static
// binary plus symlinks for ~90 common applets), with /tmp, /root, /etc/passwd (root) and
// /dev/null.
// Guest operations (guest_operations.go) run programs chrooted into it and move files in and
// out of it. Building one takes ~0.1 s here (one 2 MB copy; symlinks cost ~1 ms each on the
// lab's disk).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// busyboxPath is where Debian's busybox-static installs the static binary.
var busyboxPath = "/bin/busybox"

const (
	guestUser     = "root"
	guestPassword = "HdmGuest!2026"
)

// buildGuestRoot creates (or recreates) the guest root directory dir.
func buildGuestRoot(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "dev", "proc", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil { // umask
		return err
	}
	// A copy, not a hard link: guest programs run as root and could write through a link into
	// the host's binary.
	if err := copyFile(busyboxPath, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return fmt.Errorf("guest root %s: %w (install Debian's busybox-static)", dir, err)
	}
	applets, err := busyboxApplets()
	if err != nil {
		return err
	}
	for _, applet := range applets {
		link := filepath.Join(dir, filepath.FromSlash(applet))
		if err := os.Symlink("/bin/busybox", link); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":    "root:x:0:\n",
		"etc/hostname": filepath.Base(dir) + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// /dev/null for shell redirections; a character device needs CAP_MKNOD, else a plain file.
	null := filepath.Join(dir, "dev", "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
		if err := os.WriteFile(null, nil, 0o666); err != nil {
			return err
		}
	}
	return nil
}

// guestApplets are the applets that get a symlink: what scripts and tools commonly call. A
// symlink costs ~1 ms on the lab's disks, so not all ~270 (`busybox <applet>` runs any of them).
var guestApplets = map[string]bool{}

func init() {
	for _, a := range strings.Fields(`sh ash ls cat echo printf ps sleep uname id whoami hostname env pwd true false test [ [[
		cp mv rm ln mkdir rmdir touch chmod chown stat readlink realpath dirname basename find xargs
		grep egrep sed awk cut tr sort uniq head tail wc tee od hexdump md5sum sha1sum sha256sum cmp diff
		tar gzip gunzip zcat dd sync df du mount umount date kill killall pidof nohup timeout seq expr
		which yes vi less more free uptime dmesg`) {
		guestApplets[a] = true
	}
}

var appletList struct {
	once sync.Once
	list []string
	err  error
}

// busyboxApplets lists the paths of guestApplets relative to the root ("bin/sh",
// "usr/bin/awk", ...) as busybox places them, all in directories buildGuestRoot creates.
func busyboxApplets() ([]string, error) {
	appletList.once.Do(func() {
		out, err := exec.Command(busyboxPath, "--list-full").Output()
		if err != nil {
			appletList.err = fmt.Errorf("%s --list-full: %w (install Debian's busybox-static)", busyboxPath, err)
			return
		}
		for _, a := range strings.Fields(string(out)) {
			if guestApplets[filepath.Base(a)] {
				appletList.list = append(appletList.list, a)
			}
		}
	})
	return appletList.list, appletList.err
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// errOutsideRoot is returned for guest paths that are not absolute.
var errNotAbsolute = errors.New("guest path must be absolute")

// resolveGuestPath maps the absolute guest path p to a host path inside root, following
// symbolic links as the guest would see them (an absolute link target is relative to the
// guest root, ".." stops at the guest root), so no path a guest program creates can lead the
// harness outside the guest. The last component is not followed when followLast is false
// (delete, lstat). The result may name a file that does not exist yet.
func resolveGuestPath(root, p string, followLast bool) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errNotAbsolute
	}
	parts := strings.Split(p, "/")
	var resolved []string // components below root, all existing non-links (except maybe the last)
	hops := 0
	for len(parts) > 0 {
		c := parts[0]
		parts = parts[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(resolved) > 0 {
				resolved = resolved[:len(resolved)-1]
			}
			continue
		}
		host := filepath.Join(append([]string{root}, append(resolved, c)...)...)
		st, err := os.Lstat(host)
		if err != nil || st.Mode()&os.ModeSymlink == 0 || (len(parts) == 0 && !followLast) {
			resolved = append(resolved, c)
			continue
		}
		hops++
		if hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = nil
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return filepath.Join(append([]string{root}, resolved...)...), nil
}
