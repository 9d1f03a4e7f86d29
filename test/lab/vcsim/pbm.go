package main

// pbm.go serves Storage Policy Based Management (SPBM) on /pbm (namespace urn:pbm). govmomi's
// pbm simulator only lists canned profiles, creates and deletes; HDM needs to update its
// "HDM Analyzer Profile", assign it to VM disks and check compliance against the IO filter it
// requires, so the lab serves its own PBM registry (registered by init below in place of
// govmomi's pbm/simulator package, which lab.go must therefore not import).
//
// Objects (MoRefs as vCenter's PBM): ServiceInstance, ProfileManager, ComplianceManager.
//   - PbmCreate: a capability profile from the create spec; a second profile with the same
//     name is PbmDuplicateName. PbmUpdate: name, description, constraints (generationId+1);
//     unknown id PbmFaultNotFound. PbmDelete: one outcome per id (fault PbmFaultNotFound for
//     unknown ids); associations of a deleted profile are dropped.
//   - PbmQueryProfile(resourceType, category), PbmRetrieveContent(ids) (unknown id:
//     InvalidArgument profileId, as govmomi's simulator).
//   - Associations are made by ReconfigVM_Task (hdm_services.go → pbmAssign): a disk's
//     VirtualDeviceConfigSpec.profile (VirtualMachineDefinedProfileSpec) associates
//     {objectType virtualDiskId, key "<vm>:<diskKey>"}, the spec's vmProfile associates
//     {virtualMachine, "<vm>"}; VirtualMachineEmptyProfileSpec removes.
//     PbmQueryAssociatedProfile(s), PbmQueryAssociatedEntity (entityType filter),
//     PbmQueryAssociatedEntities read them.
//   - PbmCheckCompliance(entities, profile?): per entity against its associated profile (or the
//     given one): notApplicable without one; compliant when every capability of the profile is
//     met, else nonCompliant (mismatch false) with one violatedPolicies entry per unmet
//     capability. The lab knows one kind of capability: namespace
//     "com.vmware.storageprofile.dataservice", id = an IO filter name, met when a filter of
//     that name is installed on the cluster of the entity's VM (io_filter_manager.go).
//
// Sessions: PBM takes the vCenter session from the vcSessionCookie SOAP header
// (hdm_services.go checks it and hands vcsim the matching cookie).

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/pbm"
	"github.com/vmware/govmomi/pbm/methods"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// DataServiceNamespace is the capability namespace of IO filter rules.
const DataServiceNamespace = "com.vmware.storageprofile.dataservice"

var pbmContent = pbmtypes.PbmServiceInstanceContent{
	AboutInfo:                 pbmtypes.PbmAboutInfo{Name: "PBM", Version: "2.0", InstanceUuid: "6b6a4d4a-2c2a-4b79-9d51-8f0e1f6a0d01"},
	SessionManager:            types.ManagedObjectReference{Type: "PbmSessionManager", Value: "SessionManager"},
	CapabilityMetadataManager: types.ManagedObjectReference{Type: "PbmCapabilityMetadataManager", Value: "CapabilityMetadataManager"},
	ProfileManager:            types.ManagedObjectReference{Type: "PbmProfileProfileManager", Value: "ProfileManager"},
	ComplianceManager:         types.ManagedObjectReference{Type: "PbmComplianceManager", Value: "complianceManager"},
	PlacementSolver:           types.ManagedObjectReference{Type: "PbmPlacementSolver", Value: "placementSolver"},
}

// pbmState is the lab's SPBM data; a new one per started lab.
type pbmState struct {
	mu       sync.Mutex
	profiles []*pbmtypes.PbmCapabilityProfile
	assoc    map[pbmtypes.PbmServerObjectRef]pbmtypes.PbmProfileId // entity (serverUuid empty) → profile
}

var (
	pbmMu      sync.Mutex
	currentPbm *pbmState
)

func labPbm() *pbmState {
	pbmMu.Lock()
	defer pbmMu.Unlock()
	return currentPbm
}

func init() {
	simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
		if !r.IsVPX() {
			return
		}
		st := &pbmState{assoc: map[pbmtypes.PbmServerObjectRef]pbmtypes.PbmProfileId{}}
		pbmMu.Lock()
		currentPbm = st
		pbmMu.Unlock()
		reg := simulator.NewRegistry()
		reg.Namespace = pbm.Namespace
		reg.Path = pbm.Path
		reg.Put(&pbmServiceInstance{ManagedObjectReference: pbm.ServiceInstance})
		reg.Put(&pbmProfileManager{ManagedObjectReference: pbmContent.ProfileManager, st: st})
		reg.Put(&pbmComplianceManager{ManagedObjectReference: pbmContent.ComplianceManager, st: st})
		s.RegisterSDK(reg)
	})
}

type pbmServiceInstance struct{ types.ManagedObjectReference }

func (s *pbmServiceInstance) PbmRetrieveServiceContent(_ *pbmtypes.PbmRetrieveServiceContent) soap.HasFault {
	return &methods.PbmRetrieveServiceContentBody{Res: &pbmtypes.PbmRetrieveServiceContentResponse{Returnval: pbmContent}}
}

type pbmProfileManager struct {
	types.ManagedObjectReference
	st *pbmState
}

func (st *pbmState) find(id string) (int, *pbmtypes.PbmCapabilityProfile) {
	for i, p := range st.profiles {
		if p.ProfileId.UniqueId == id {
			return i, p
		}
	}
	return -1, nil
}

func pbmNotFound(id string) *soap.Fault {
	return simulator.Fault(fmt.Sprintf("Profile not found. Id: %s", id), &pbmtypes.PbmFaultNotFound{})
}

func (m *pbmProfileManager) PbmCreate(ctx *simulator.Context, req *pbmtypes.PbmCreate) soap.HasFault {
	body := new(methods.PbmCreateBody)
	spec := req.CreateSpec
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	for _, p := range m.st.profiles {
		if p.Name == spec.Name {
			body.Fault_ = simulator.Fault(fmt.Sprintf("Profile with name %s already exists", spec.Name), &pbmtypes.PbmDuplicateName{Name: spec.Name})
			return body
		}
	}
	if spec.Name == "" {
		body.Fault_ = simulator.Fault("A specified parameter was not correct: createSpec.name", &types.InvalidArgument{InvalidProperty: "createSpec.name"})
		return body
	}
	now := time.Now()
	category := spec.Category
	if category == "" {
		category = string(pbmtypes.PbmProfileCategoryEnumREQUIREMENT)
	}
	p := &pbmtypes.PbmCapabilityProfile{
		PbmProfile: pbmtypes.PbmProfile{
			ProfileId: pbmtypes.PbmProfileId{UniqueId: uuid.New().String()},
			Name:      spec.Name, Description: spec.Description,
			CreationTime: now, CreatedBy: userOf(ctx), LastUpdatedTime: now, LastUpdatedBy: userOf(ctx),
		},
		ProfileCategory: category,
		ResourceType:    spec.ResourceType,
		Constraints:     spec.Constraints,
	}
	m.st.profiles = append(m.st.profiles, p)
	body.Res = &pbmtypes.PbmCreateResponse{Returnval: p.ProfileId}
	return body
}

func (m *pbmProfileManager) PbmUpdate(ctx *simulator.Context, req *pbmtypes.PbmUpdate) soap.HasFault {
	body := new(methods.PbmUpdateBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	_, p := m.st.find(req.ProfileId.UniqueId)
	if p == nil {
		body.Fault_ = pbmNotFound(req.ProfileId.UniqueId)
		return body
	}
	u := req.UpdateSpec
	if u.Name != "" && u.Name != p.Name {
		for _, o := range m.st.profiles {
			if o.Name == u.Name {
				body.Fault_ = simulator.Fault(fmt.Sprintf("Profile with name %s already exists", u.Name), &pbmtypes.PbmDuplicateName{Name: u.Name})
				return body
			}
		}
		p.Name = u.Name
	}
	if u.Description != "" {
		p.Description = u.Description
	}
	if u.Constraints != nil {
		p.Constraints = u.Constraints
	}
	p.GenerationId++
	p.LastUpdatedTime = time.Now()
	p.LastUpdatedBy = userOf(ctx)
	body.Res = new(pbmtypes.PbmUpdateResponse)
	return body
}

func (m *pbmProfileManager) PbmDelete(req *pbmtypes.PbmDelete) soap.HasFault {
	body := new(methods.PbmDeleteBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	res := &pbmtypes.PbmDeleteResponse{}
	for _, id := range req.ProfileId {
		i, _ := m.st.find(id.UniqueId)
		if i < 0 {
			res.Returnval = append(res.Returnval, pbmtypes.PbmProfileOperationOutcome{
				ProfileId: id,
				Fault:     &types.LocalizedMethodFault{Fault: &pbmtypes.PbmFaultNotFound{}, LocalizedMessage: "Profile not found. Id: " + id.UniqueId},
			})
			continue
		}
		m.st.profiles = append(m.st.profiles[:i], m.st.profiles[i+1:]...)
		for e, pid := range m.st.assoc {
			if pid.UniqueId == id.UniqueId {
				delete(m.st.assoc, e)
			}
		}
	}
	body.Res = res
	return body
}

func (m *pbmProfileManager) PbmQueryProfile(req *pbmtypes.PbmQueryProfile) soap.HasFault {
	body := new(methods.PbmQueryProfileBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	res := &pbmtypes.PbmQueryProfileResponse{}
	for _, p := range m.st.profiles {
		if p.ResourceType.ResourceType != req.ResourceType.ResourceType {
			continue
		}
		if req.ProfileCategory != "" && p.ProfileCategory != req.ProfileCategory {
			continue
		}
		res.Returnval = append(res.Returnval, p.ProfileId)
	}
	body.Res = res
	return body
}

func (m *pbmProfileManager) PbmRetrieveContent(req *pbmtypes.PbmRetrieveContent) soap.HasFault {
	body := new(methods.PbmRetrieveContentBody)
	if len(req.ProfileIds) == 0 {
		body.Fault_ = simulator.Fault("A specified parameter was not correct: profileIds", &types.InvalidArgument{InvalidProperty: "profileIds"})
		return body
	}
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	res := &pbmtypes.PbmRetrieveContentResponse{}
	for _, id := range req.ProfileIds {
		_, p := m.st.find(id.UniqueId)
		if p == nil {
			body.Fault_ = simulator.Fault("A specified parameter was not correct: profileId", &types.InvalidArgument{InvalidProperty: "profileId"})
			return body
		}
		cp := *p
		res.Returnval = append(res.Returnval, &cp)
	}
	body.Res = res
	return body
}

// key is an entity reference as associations store it (serverUuid ignored).
func pbmKey(ref pbmtypes.PbmServerObjectRef) pbmtypes.PbmServerObjectRef {
	return pbmtypes.PbmServerObjectRef{ObjectType: ref.ObjectType, Key: ref.Key}
}

func (m *pbmProfileManager) PbmQueryAssociatedProfile(req *pbmtypes.PbmQueryAssociatedProfile) soap.HasFault {
	body := new(methods.PbmQueryAssociatedProfileBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	res := &pbmtypes.PbmQueryAssociatedProfileResponse{}
	if id, ok := m.st.assoc[pbmKey(req.Entity)]; ok {
		res.Returnval = []pbmtypes.PbmProfileId{id}
	}
	body.Res = res
	return body
}

func (m *pbmProfileManager) PbmQueryAssociatedProfiles(req *pbmtypes.PbmQueryAssociatedProfiles) soap.HasFault {
	body := new(methods.PbmQueryAssociatedProfilesBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	res := &pbmtypes.PbmQueryAssociatedProfilesResponse{}
	for _, e := range req.Entities {
		r := pbmtypes.PbmQueryProfileResult{Object: e}
		if id, ok := m.st.assoc[pbmKey(e)]; ok {
			r.ProfileId = []pbmtypes.PbmProfileId{id}
		}
		res.Returnval = append(res.Returnval, r)
	}
	body.Res = res
	return body
}

// entitiesOf lists the entities associated with profile id, sorted by type and key.
func (st *pbmState) entitiesOf(id, entityType string) []pbmtypes.PbmServerObjectRef {
	var out []pbmtypes.PbmServerObjectRef
	for e, pid := range st.assoc {
		if pid.UniqueId == id && (entityType == "" || e.ObjectType == entityType) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ObjectType != out[j].ObjectType {
			return out[i].ObjectType < out[j].ObjectType
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func (m *pbmProfileManager) PbmQueryAssociatedEntity(req *pbmtypes.PbmQueryAssociatedEntity) soap.HasFault {
	body := new(methods.PbmQueryAssociatedEntityBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	if _, p := m.st.find(req.Profile.UniqueId); p == nil {
		body.Fault_ = pbmNotFound(req.Profile.UniqueId)
		return body
	}
	body.Res = &pbmtypes.PbmQueryAssociatedEntityResponse{Returnval: m.st.entitiesOf(req.Profile.UniqueId, req.EntityType)}
	return body
}

func (m *pbmProfileManager) PbmQueryAssociatedEntities(req *pbmtypes.PbmQueryAssociatedEntities) soap.HasFault {
	body := new(methods.PbmQueryAssociatedEntitiesBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	res := &pbmtypes.PbmQueryAssociatedEntitiesResponse{}
	for _, id := range req.Profiles {
		for _, e := range m.st.entitiesOf(id.UniqueId, "") {
			res.Returnval = append(res.Returnval, pbmtypes.PbmQueryProfileResult{Object: e, ProfileId: []pbmtypes.PbmProfileId{id}})
		}
	}
	body.Res = res
	return body
}

// assign records (or with profileID "" removes) the profile of an entity. An unknown profile
// is an error (the caller refuses the reconfiguration).
func (st *pbmState) assign(entity pbmtypes.PbmServerObjectRef, profileID string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if profileID == "" {
		delete(st.assoc, pbmKey(entity))
		return nil
	}
	if _, p := st.find(profileID); p == nil {
		return fmt.Errorf("storage policy %s not found", profileID)
	}
	st.assoc[pbmKey(entity)] = pbmtypes.PbmProfileId{UniqueId: profileID}
	return nil
}

// profileExists reports whether id names a profile.
func (st *pbmState) profileExists(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, p := st.find(id)
	return p != nil
}

type pbmComplianceManager struct {
	types.ManagedObjectReference
	st *pbmState
}

// vmOfEntity returns the VM MoRef value of a virtualMachine / virtualDiskId reference.
func vmOfEntity(e pbmtypes.PbmServerObjectRef) string {
	switch e.ObjectType {
	case string(pbmtypes.PbmObjectTypeVirtualMachine):
		return e.Key
	case string(pbmtypes.PbmObjectTypeVirtualDiskId), string(pbmtypes.PbmObjectTypeVirtualDiskUUID):
		return strings.SplitN(e.Key, ":", 2)[0]
	}
	return ""
}

// clusterOfVM is the compute resource of the VM's host.
func clusterOfVM(vm string) (types.ManagedObjectReference, bool) {
	v, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: vm}).(*simulator.VirtualMachine)
	if !ok || v.Runtime.Host == nil {
		return types.ManagedObjectReference{}, false
	}
	h, ok := simulator.Map.Get(*v.Runtime.Host).(*simulator.HostSystem)
	if !ok || h.Parent == nil {
		return types.ManagedObjectReference{}, false
	}
	return *h.Parent, true
}

// capabilities flattens a profile's capability instances.
func capabilities(c pbmtypes.BasePbmCapabilityConstraints) []pbmtypes.PbmCapabilityInstance {
	sub, ok := c.(*pbmtypes.PbmCapabilitySubProfileConstraints)
	if !ok {
		return nil
	}
	var out []pbmtypes.PbmCapabilityInstance
	for _, sp := range sub.SubProfiles {
		out = append(out, sp.Capability...)
	}
	return out
}

func (m *pbmComplianceManager) PbmCheckCompliance(req *pbmtypes.PbmCheckCompliance) soap.HasFault {
	body := new(methods.PbmCheckComplianceBody)
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	filters := currentIoFilterManager()
	now := time.Now()
	res := &pbmtypes.PbmCheckComplianceResponse{}
	for _, e := range req.Entities {
		r := pbmtypes.PbmComplianceResult{CheckTime: now, Entity: e, ComplianceStatus: string(pbmtypes.PbmComplianceStatusNotApplicable)}
		id, ok := m.st.assoc[pbmKey(e)]
		if req.Profile != nil {
			id, ok = *req.Profile, true
		}
		if ok {
			pid := id
			r.Profile = &pid
			_, p := m.st.find(id.UniqueId)
			if p == nil {
				r.ComplianceStatus = string(pbmtypes.PbmComplianceStatusUnknown)
				res.Returnval = append(res.Returnval, r)
				continue
			}
			cluster, haveCluster := clusterOfVM(vmOfEntity(e))
			r.ComplianceStatus = string(pbmtypes.PbmComplianceStatusCompliant)
			for _, c := range capabilities(p.Constraints) {
				met := c.Id.Namespace == DataServiceNamespace && haveCluster && filters != nil && filters.filterInstalled(cluster, c.Id.Id)
				if !met {
					r.ComplianceStatus = string(pbmtypes.PbmComplianceStatusNonCompliant)
					r.ViolatedPolicies = append(r.ViolatedPolicies, pbmtypes.PbmCompliancePolicyStatus{ExpectedValue: c})
				}
			}
		}
		res.Returnval = append(res.Returnval, r)
	}
	body.Res = res
	return body
}
