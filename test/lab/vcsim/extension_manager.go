package main

// extension_manager.go adds ExtensionManager (RegisterExtension, FindExtension,
// UpdateExtension, UnregisterExtension), which vcsim 0.24.2 lacks. The plugin server registers
// the remote plugin with it, and TaskManager.CreateTask (task_manager.go) accepts only task
// types listed in a registered extension's taskList.
//
// Faults follow vCenter: registering a key that is already registered is InvalidArgument
// (invalidProperty "extension.key", as vCenter answers "A specified parameter was not correct:
// extension.key"); updating or unregistering an unknown key is NotFound.
//
// The list is saved to <data-dir>/extensions.json after every change and loaded on start,
// so a restarted lab keeps its registrations like a real vCenter does. Each entry keeps the
// extension as vim25 XML (it holds polymorphic Description values) next to its key.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// ExtensionManager is the lab's vim.ExtensionManager; its extensionList property is kept
// current through simulator.Map.Update so WaitForUpdatesEx sees changes.
type ExtensionManager struct {
	mo.ExtensionManager

	file string
	mu   sync.Mutex // guards ExtensionList for readers outside the SOAP call (CreateTask)
}

// persistedExtensions is the format of extensions.json.
type persistedExtensions struct {
	Version    int                  `json:"version"`
	Extensions []persistedExtension `json:"extensions"`
}

type persistedExtension struct {
	Key     string `json:"key"`
	Version string `json:"version"`
	XML     string `json:"xml"` // vim25 XML of the whole types.Extension
}

func installExtensionManager(file string) error {
	ref := simulator.Map.Get(*simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance).Content.ExtensionManager)
	if ref == nil {
		return fmt.Errorf("ServiceContent.extensionManager is not in the inventory")
	}
	m := &ExtensionManager{file: file}
	m.Self = ref.Reference()
	list, err := loadExtensions(file)
	if err != nil {
		return err
	}
	m.ExtensionList = list
	simulator.Map.Put(m)
	return nil
}

func vim25ServiceInstance() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}
}

// currentExtensionManager returns the lab's ExtensionManager in the running inventory.
func currentExtensionManager() *ExtensionManager {
	si := simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance)
	m, _ := simulator.Map.Get(*si.Content.ExtensionManager).(*ExtensionManager)
	return m
}

func loadExtensions(file string) ([]types.Extension, error) {
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p persistedExtensions
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var list []types.Extension
	for _, e := range p.Extensions {
		var ext types.Extension
		dec := xml.NewDecoder(strings.NewReader(e.XML))
		dec.TypeFunc = types.TypeFunc()
		if err := dec.Decode(&ext); err != nil {
			return nil, fmt.Errorf("%s: extension %s: %w", file, e.Key, err)
		}
		list = append(list, ext)
	}
	return list, nil
}

func saveExtensions(file string, list []types.Extension) error {
	p := persistedExtensions{Version: 1, Extensions: []persistedExtension{}}
	for _, ext := range list {
		var buf bytes.Buffer
		if err := xml.NewEncoder(&buf).EncodeElement(ext, xml.StartElement{Name: xml.Name{Local: "Extension"}}); err != nil {
			return err
		}
		p.Extensions = append(p.Extensions, persistedExtension{Key: ext.Key, Version: ext.Version, XML: buf.String()})
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file) // atomic: a crash leaves the old or the new list
}

// find returns the index of key in the list, or -1.
func (m *ExtensionManager) find(key string) int {
	for i := range m.ExtensionList {
		if m.ExtensionList[i].Key == key {
			return i
		}
	}
	return -1
}

// setList publishes a new list to the property collector and to extensions.json.
func (m *ExtensionManager) setList(list []types.Extension) *soap.Fault {
	m.mu.Lock()
	simulator.Map.Update(m, []types.PropertyChange{{Name: "extensionList", Val: list}})
	m.mu.Unlock()
	if err := saveExtensions(m.file, list); err != nil {
		return simulator.Fault(err.Error(), &types.SystemError{Reason: err.Error()})
	}
	return nil
}

// TaskTypeRegistered reports whether a registered extension lists taskTypeID in its taskList.
func (m *ExtensionManager) TaskTypeRegistered(taskTypeID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ext := range m.ExtensionList {
		for _, t := range ext.TaskList {
			if t.TaskID == taskTypeID {
				return true
			}
		}
	}
	return false
}

func (m *ExtensionManager) RegisterExtension(req *types.RegisterExtension) soap.HasFault {
	body := new(methods.RegisterExtensionBody)
	ext := req.Extension
	if ext.Key == "" {
		body.Fault_ = simulator.Fault("A specified parameter was not correct: extension.key",
			&types.InvalidArgument{InvalidProperty: "extension.key"})
		return body
	}
	if m.find(ext.Key) >= 0 {
		body.Fault_ = simulator.Fault("A specified parameter was not correct: extension.key",
			&types.InvalidArgument{InvalidProperty: "extension.key"})
		return body
	}
	list := append(append([]types.Extension(nil), m.ExtensionList...), ext)
	if f := m.setList(list); f != nil {
		body.Fault_ = f
		return body
	}
	body.Res = new(types.RegisterExtensionResponse)
	return body
}

func (m *ExtensionManager) FindExtension(req *types.FindExtension) soap.HasFault {
	body := &methods.FindExtensionBody{Res: new(types.FindExtensionResponse)}
	if i := m.find(req.ExtensionKey); i >= 0 {
		ext := m.ExtensionList[i]
		body.Res.Returnval = &ext
	}
	return body
}

func (m *ExtensionManager) UpdateExtension(req *types.UpdateExtension) soap.HasFault {
	body := new(methods.UpdateExtensionBody)
	i := m.find(req.Extension.Key)
	if i < 0 {
		body.Fault_ = notFound(fmt.Sprintf("The object or item referred to could not be found: extension %q", req.Extension.Key))
		return body
	}
	list := append([]types.Extension(nil), m.ExtensionList...)
	list[i] = req.Extension
	if f := m.setList(list); f != nil {
		body.Fault_ = f
		return body
	}
	body.Res = new(types.UpdateExtensionResponse)
	return body
}

func (m *ExtensionManager) UnregisterExtension(req *types.UnregisterExtension) soap.HasFault {
	body := new(methods.UnregisterExtensionBody)
	i := m.find(req.ExtensionKey)
	if i < 0 {
		body.Fault_ = notFound(fmt.Sprintf("The object or item referred to could not be found: extension %q", req.ExtensionKey))
		return body
	}
	list := append(append([]types.Extension(nil), m.ExtensionList[:i]...), m.ExtensionList[i+1:]...)
	if f := m.setList(list); f != nil {
		body.Fault_ = f
		return body
	}
	body.Res = new(types.UnregisterExtensionResponse)
	return body
}

func notFound(msg string) *soap.Fault {
	return simulator.Fault(msg, new(types.NotFound))
}
