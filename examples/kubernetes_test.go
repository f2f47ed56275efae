package examples_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// decodeManifests decodes every document of a multi-document YAML file
// strictly (an unknown or misspelt field is an error) into the k8s.io/api
// type of its kind.
func decodeManifests(t *testing.T, path string) []any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for i, doc := range strings.Split(string(raw), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s, document %d: %v", path, i+1, err)
		}
		var obj any
		switch head.Kind {
		case "CronJob":
			obj = &batchv1.CronJob{}
		case "Secret":
			obj = &corev1.Secret{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		default:
			t.Fatalf("%s, document %d: kind %q: add its type to this test", path, i+1, head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Errorf("%s, document %d (%s): %v", path, i+1, head.Kind, err)
			continue
		}
		out = append(out, obj)
	}
	return out
}

// restrictedProblems lists what Pod Security "restricted" would refuse in a
// pod spec: what the docs promise every example meets.
func restrictedProblems(spec corev1.PodSpec) []string {
	var p []string
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		p = append(p, "uses a host namespace")
	}
	pod := spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	for _, v := range spec.Volumes {
		s := v.VolumeSource
		if s.ConfigMap == nil && s.EmptyDir == nil && s.Secret == nil && s.PersistentVolumeClaim == nil &&
			s.Projected == nil && s.DownwardAPI == nil && s.CSI == nil && s.Ephemeral == nil {
			p = append(p, "volume "+v.Name+" is of a type restricted forbids")
		}
	}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			p = append(p, c.Name+": no securityContext")
			continue
		}
		if sc.Privileged != nil && *sc.Privileged {
			p = append(p, c.Name+": privileged")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p = append(p, c.Name+": allowPrivilegeEscalation is not false")
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			p = append(p, c.Name+": capabilities do not drop ALL")
		} else if len(sc.Capabilities.Add) > 0 {
			p = append(p, c.Name+": adds capabilities")
		}
		nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && pod.RunAsNonRoot != nil && *pod.RunAsNonRoot)
		if !nonRoot {
			p = append(p, c.Name+": runAsNonRoot is not true")
		}
		if uid := sc.RunAsUser; (uid != nil && *uid == 0) || (uid == nil && pod.RunAsUser != nil && *pod.RunAsUser == 0) {
			p = append(p, c.Name+": runs as uid 0")
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = pod.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			p = append(p, c.Name+": no seccompProfile RuntimeDefault or Localhost")
		}
	}
	return p
}

// TestKubernetesManifestsAreValidAndRestricted: every manifest decodes
// strictly into the Kubernetes API types, every CronJob forbids concurrent
// runs, and every pod meets Pod Security "restricted".
func TestKubernetesManifestsAreValidAndRestricted(t *testing.T) {
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		cronJobs := 0
		for _, obj := range decodeManifests(t, f) {
			cj, ok := obj.(*batchv1.CronJob)
			if !ok {
				continue
			}
			cronJobs++
			if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
				t.Errorf("%s: CronJob %s: concurrencyPolicy %q, want Forbid", f, cj.Name, cj.Spec.ConcurrencyPolicy)
			}
			for _, p := range restrictedProblems(cj.Spec.JobTemplate.Spec.Template.Spec) {
				t.Errorf("%s: CronJob %s: %s", f, cj.Name, p)
			}
		}
		if cronJobs == 0 {
			t.Errorf("%s holds no CronJob", f)
		}
	}
}

// TestRestrictedCheckCatchesAMissingSeccompProfile: the check above can
// fail: a pod without a seccomp profile is reported.
func TestRestrictedCheckCatchesAMissingSeccompProfile(t *testing.T) {
	no, yes := false, true
	spec := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes},
		Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}
	got := fmt.Sprint(restrictedProblems(spec))
	if !strings.Contains(got, "seccompProfile") {
		t.Errorf("problems %s, want the missing seccompProfile", got)
	}
}
