package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/pbm"
	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25/types"
)

func analyzerConstraints(filter string) *pbmtypes.PbmCapabilitySubProfileConstraints {
	return &pbmtypes.PbmCapabilitySubProfileConstraints{SubProfiles: []pbmtypes.PbmCapabilitySubProfile{{
		Name: "HDM IO analyzer",
		Capability: []pbmtypes.PbmCapabilityInstance{{
			Id: pbmtypes.PbmCapabilityMetadataUniqueId{Namespace: DataServiceNamespace, Id: filter},
			Constraint: []pbmtypes.PbmCapabilityConstraintInstance{{PropertyInstance: []pbmtypes.PbmCapabilityPropertyInstance{
				{Id: filter, Value: filter},
			}}},
		}},
	}}}
}

func complianceOf(ctx context.Context, t *testing.T, pc *pbm.Client, entity pbmtypes.PbmServerObjectRef) pbmtypes.PbmComplianceResult {
	t.Helper()
	res, err := pbmmethods.PbmCheckCompliance(ctx, pc, &pbmtypes.PbmCheckCompliance{
		This: pc.ServiceContent.ComplianceManager, Entities: []pbmtypes.PbmServerObjectRef{entity}})
	if err != nil {
		t.Fatalf("PbmCheckCompliance: %v", err)
	}
	if len(res.Returnval) != 1 {
		t.Fatalf("compliance results = %+v", res.Returnval)
	}
	return res.Returnval[0]
}

func pbmQueryAssociatedProfiles(ctx context.Context, pc *pbm.Client, entities []pbmtypes.PbmServerObjectRef) ([]pbmtypes.PbmQueryProfileResult, error) {
	res, err := pbmmethods.PbmQueryAssociatedProfiles(ctx, pc, &pbmtypes.PbmQueryAssociatedProfiles{
		This: pc.ServiceContent.ProfileManager, Entities: entities})
	if err != nil {
		return nil, err
	}
	return res.Returnval, nil
}

func TestPbm(t *testing.T) {
	ctx := context.Background()
	lab, c := startTestLab(t, "prem", t.TempDir())
	pc, err := pbm.NewClient(ctx, c.Client)
	if err != nil {
		t.Fatalf("pbm.NewClient: %v", err)
	}
	storage := pbmtypes.PbmProfileResourceType{ResourceType: string(pbmtypes.PbmProfileResourceTypeEnumSTORAGE)}

	id, err := pc.CreateProfile(ctx, pbmtypes.PbmCapabilityProfileCreateSpec{
		Name: "HDM Analyzer Profile", Description: "v1", Category: "REQUIREMENT", ResourceType: storage,
		Constraints: analyzerConstraints("hdm-analyzer"),
	})
	if err != nil {
		t.Fatalf("PbmCreate: %v", err)
	}
	_, err = pc.CreateProfile(ctx, pbmtypes.PbmCapabilityProfileCreateSpec{Name: "HDM Analyzer Profile", ResourceType: storage,
		Constraints: analyzerConstraints("hdm-analyzer")})
	if d, ok := faultOf(t, err).(pbmtypes.PbmDuplicateName); !ok || d.Name != "HDM Analyzer Profile" {
		t.Fatalf("duplicate PbmCreate fault = %#v", faultOf(t, err))
	}
	ids, err := pc.QueryProfile(ctx, storage, "REQUIREMENT")
	if err != nil || len(ids) != 1 || ids[0] != *id {
		t.Fatalf("PbmQueryProfile = %v, %v", ids, err)
	}
	if err := pc.UpdateProfile(ctx, *id, pbmtypes.PbmCapabilityProfileUpdateSpec{Description: "v2"}); err != nil {
		t.Fatalf("PbmUpdate: %v", err)
	}
	err = pc.UpdateProfile(ctx, pbmtypes.PbmProfileId{UniqueId: "nope"}, pbmtypes.PbmCapabilityProfileUpdateSpec{Description: "x"})
	if _, ok := faultOf(t, err).(pbmtypes.PbmFaultNotFound); !ok {
		t.Fatalf("PbmUpdate unknown fault = %#v", faultOf(t, err))
	}
	content, err := pc.RetrieveContent(ctx, []pbmtypes.PbmProfileId{*id})
	if err != nil || len(content) != 1 {
		t.Fatalf("PbmRetrieveContent = %v, %v", content, err)
	}
	p := content[0].(*pbmtypes.PbmCapabilityProfile)
	if p.Name != "HDM Analyzer Profile" || p.Description != "v2" || p.GenerationId != 1 || len(capabilities(p.Constraints)) != 1 {
		t.Fatalf("profile = %+v", p)
	}
	if name, err := pc.ProfileIDByName(ctx, "HDM Analyzer Profile"); err != nil || name != id.UniqueId {
		t.Fatalf("ProfileIDByName = %q, %v", name, err)
	}

	// Assign the policy to app-01's disk with ReconfigVM_Task.
	vm, err := find.NewFinder(c.Client, true).VirtualMachine(ctx, "/prem-dc/vm/app-01")
	if err != nil {
		t.Fatal(err)
	}
	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disk := devices.SelectByType((*types.VirtualDisk)(nil))[0].(*types.VirtualDisk)
	diskRef := pbmtypes.PbmServerObjectRef{ObjectType: "virtualDiskId", Key: fmt.Sprintf("%s:%d", vm.Reference().Value, disk.Key)}
	if r := complianceOf(ctx, t, pc, diskRef); r.ComplianceStatus != "notApplicable" {
		t.Fatalf("compliance before assignment = %+v", r)
	}
	reconfigure := func(profile string) error {
		task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
			&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: disk,
				Profile: []types.BaseVirtualMachineProfileSpec{&types.VirtualMachineDefinedProfileSpec{ProfileId: profile}}},
		}})
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	err = reconfigure("no-such-policy")
	if ia, ok := faultOf(t, err).(types.InvalidArgument); !ok || ia.InvalidProperty != "profile" {
		t.Fatalf("reconfigure with an unknown policy fault = %#v", faultOf(t, err))
	}
	if err := reconfigure(id.UniqueId); err != nil {
		t.Fatalf("ReconfigVM_Task with profile: %v", err)
	}
	ents, err := pc.QueryAssociatedEntity(ctx, *id, "virtualDiskId")
	if err != nil || len(ents) != 1 || ents[0].Key != diskRef.Key {
		t.Fatalf("PbmQueryAssociatedEntity = %+v, %v", ents, err)
	}
	assoc, err := pbmQueryAssociatedProfiles(ctx, pc, []pbmtypes.PbmServerObjectRef{diskRef})
	if err != nil || len(assoc) != 1 || len(assoc[0].ProfileId) != 1 || assoc[0].ProfileId[0] != *id {
		t.Fatalf("PbmQueryAssociatedProfiles = %+v, %v", assoc, err)
	}

	// Non-compliant until the filter is installed on the VM's cluster.
	r := complianceOf(ctx, t, pc, diskRef)
	if r.ComplianceStatus != "nonCompliant" || r.Profile == nil || *r.Profile != *id || len(r.ViolatedPolicies) != 1 ||
		r.ViolatedPolicies[0].ExpectedValue.Id.Id != "hdm-analyzer" {
		t.Fatalf("compliance without the filter = %+v", r)
	}
	cl, err := find.NewFinder(c.Client, true).ClusterComputeResource(ctx, "/prem-dc/host/prem-cluster")
	if err != nil {
		t.Fatal(err)
	}
	if f := installFilter(ctx, t, c, analyzerVib, cl.Reference()); f != nil {
		t.Fatalf("install: %#v", f)
	}
	if r := complianceOf(ctx, t, pc, diskRef); r.ComplianceStatus != "compliant" || len(r.ViolatedPolicies) != 0 {
		t.Fatalf("compliance with the filter = %+v", r)
	}

	// Strict /pbm requests and the vcSessionCookie header.
	this := `<_this type="PbmProfileProfileManager">ProfileManager</_this>`
	status, body := pbmPost(t, lab, c, true, `<PbmQueryProfile xmlns="urn:pbm">`+this+
		`<profileCategory>REQUIREMENT</profileCategory><resourceType><resourceType>STORAGE</resourceType></resourceType></PbmQueryProfile>`)
	if status != 500 || !strings.Contains(body, "InvalidRequest") || !strings.Contains(body, `"resourceType"`) {
		t.Fatalf("out-of-order PbmQueryProfile: %d %s", status, body)
	}
	status, body = pbmPost(t, lab, c, true, `<PbmQueryProfile xmlns="urn:pbm">`+this+
		`<resourceType><resourceType>STORAGE</resourceType><color>red</color></resourceType></PbmQueryProfile>`)
	if status != 500 || !strings.Contains(body, `Unknown element "color"`) {
		t.Fatalf("unknown element: %d %s", status, body)
	}
	good := `<PbmQueryProfile xmlns="urn:pbm">` + this + `<resourceType><resourceType>STORAGE</resourceType></resourceType></PbmQueryProfile>`
	if status, body = pbmPost(t, lab, c, true, good); status != 200 || !strings.Contains(body, id.UniqueId) {
		t.Fatalf("good PbmQueryProfile: %d %s", status, body)
	}
	if status, body = pbmPost(t, lab, c, false, good); status != 500 || !strings.Contains(body, "NotAuthenticated") {
		t.Fatalf("PbmQueryProfile without vcSessionCookie: %d %s", status, body)
	}

	// Delete: outcomes, associations dropped.
	out, err := pc.DeleteProfile(ctx, []pbmtypes.PbmProfileId{*id, {UniqueId: "nope"}})
	if err != nil || len(out) != 1 || out[0].ProfileId.UniqueId != "nope" || out[0].Fault == nil {
		t.Fatalf("PbmDelete = %+v, %v", out, err)
	}
	if r := complianceOf(ctx, t, pc, diskRef); r.ComplianceStatus != "notApplicable" {
		t.Fatalf("compliance after delete = %+v", r)
	}
}

// pbmPost sends a raw PBM request, with the session's vcSessionCookie header when withCookie.
func pbmPost(t *testing.T, lab *Lab, c *govmomi.Client, withCookie bool, body string) (int, string) {
	t.Helper()
	header := ""
	if withCookie {
		for _, ck := range c.Client.Client.Jar.Cookies(lab.URL) {
			if ck.Name == "vmware_soap_session" {
				header = `<soapenv:Header><vcSessionCookie>` + ck.Value + `</vcSessionCookie></soapenv:Header>`
			}
		}
		if header == "" {
			t.Fatal("no session cookie")
		}
	}
	env := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + header +
		`<soapenv:Body>` + body + `</soapenv:Body></soapenv:Envelope>`
	u := *lab.URL
	u.Path = "/pbm"
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := hc.Post(u.String(), "text/xml", strings.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
