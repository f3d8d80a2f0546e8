package io.github.kscu.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every overlay and component renders with the pinned kustomize (the condition's components with every
 * kustomize of the client matrix too), and every object that is not a custom
 * resource passes a server-side dry-run apply on the real apiserver.
 */
@ExtendWith(ControlPlaneExtension.class)
class ManifestsIT {
    private static final Path KUSTOMIZE = Path.of("kustomize").toAbsolutePath();
    /**
     * API groups of CRDs this test apiserver does not have (Karpenter, EKS, Prometheus Operator). The
     * NodePools are dry-run against Karpenter's real CRDs by KarpenterIT.
     */
    private static final Pattern CRD_GROUP = Pattern.compile(
            "(?m)^apiVersion: (karpenter\\.sh|karpenter\\.k8s\\.aws|eks\\.amazonaws\\.com|monitoring\\.coreos\\.com)/");
    private static final Pattern TAINT_KEY = Pattern.compile("(?m)^  TAINT_KEY: (\\S+)$");
    private static final Pattern STARTUP_TAINT_KEY = Pattern.compile("(?s)startupTaints:\\s*\\n\\s*- .*?key: (\\S+)");

    private final ControlPlane cp;

    ManifestsIT(ControlPlane cp) {
        this.cp = cp;
    }

    static Stream<String> overlays() throws IOException {
        try (Stream<Path> dirs = Files.list(KUSTOMIZE.resolve("overlays"))) {
            return dirs.map(p -> p.getFileName().toString()).sorted().toList().stream();
        }
    }

    /** The components that add to the base; the opt-out one removes from an overlay and is tested there. */
    static Stream<String> components() throws IOException {
        try (Stream<Path> dirs = Files.list(KUSTOMIZE.resolve("components"))) {
            return dirs.map(p -> p.getFileName().toString()).filter(c -> !c.equals(OPT_OUT)).sorted().toList()
                    .stream();
        }
    }

    static final String OPT_OUT = "no-admission-policy";

    /**
     * Each overlay with each kustomize users render with (the client matrix's: kubectl 1.31 to 1.36, Argo
     * CD, Flux's, the pinned one): the components below rely on merge order and replacements, which is
     * where kustomize versions have differed.
     */
    static Stream<Arguments> kustomizesAndOverlays() throws IOException {
        List<Arguments> cells = new ArrayList<>();
        for (String[] k : ClientMatrixIT.KUSTOMIZES) {
            ControlPlane.requireTools("the components on every kustomize", "kustomize-" + k[0]);
            for (String overlay : overlays().toList()) {
                cells.add(Arguments.of(k[0], overlay));
            }
        }
        return cells.stream();
    }

    /** {@code overlay} with {@code components} around it, as a user lists them, rendered by kustomize {@code version}. */
    private String renderWith(String version, String overlay, String... components) throws Exception {
        return cp.tool("kustomize-" + version, null, "build",
                cp.kustomization("overlays/" + overlay, "", components).toString());
    }

    private String build(Path dir) throws Exception {
        return cp.tool("kustomize", null, "build", dir.toString());
    }

    private void dryRunApply(String rendered) throws Exception {
        List<String> kept = new ArrayList<>();
        for (String doc : rendered.split("(?m)^---\\n")) {
            if (!doc.isBlank() && !CRD_GROUP.matcher(doc).find()) {
                kept.add(doc);
            }
        }
        assertThat(kept).isNotEmpty();
        // The suite's control plane may already hold these objects from other tests: this checks schema
        // and admission, not field ownership, hence --force-conflicts.
        String out = cp.tool("kubectl", String.join("---\n", kept), "apply", "-f", "-", "--server-side",
                "--dry-run=server", "--force-conflicts", "--field-manager=kscu-manifests-test");
        assertThat(out).contains("(server dry run)");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void overlayRendersAndPassesServerSideDryRun(String overlay) throws Exception {
        String rendered = build(KUSTOMIZE.resolve("overlays").resolve(overlay));
        assertThat(rendered).contains("kind: DaemonSet").contains("kind: ClusterRole");
        dryRunApply(rendered);
    }

    /** A Karpenter NodePool whose startup taint differs from TAINT_KEY leaves every node tainted for ever. */
    @ParameterizedTest
    @MethodSource("overlays")
    void nodePoolStartupTaintEqualsTheConfiguredTaintKey(String overlay) throws Exception {
        String rendered = build(KUSTOMIZE.resolve("overlays").resolve(overlay));
        Matcher configured = TAINT_KEY.matcher(rendered);
        assertThat(configured.find()).as("TAINT_KEY in the rendered ConfigMap").isTrue();
        for (String doc : rendered.split("(?m)^---\\n")) {
            if (doc.contains("kind: NodePool")) {
                Matcher startup = STARTUP_TAINT_KEY.matcher(doc);
                assertThat(startup.find()).as("startupTaints in the NodePool of %s", overlay).isTrue();
                assertThat(startup.group(1)).as("NodePool startup taint of %s", overlay).isEqualTo(configured.group(1));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("components")
    void componentRendersOnTheBaseAndPassesServerSideDryRun(String component) throws Exception {
        cp.installNodeReadinessRuleCrd();
        dryRunApply(cp.renderBaseWith(component));
    }

    /**
     * The Node Readiness Controller's component, added to any overlay from outside as docs/install.md
     * shows: one taint key everywhere it must agree (TAINT_KEY, the node policy, NRC's rule, a Karpenter
     * NodePool), reporter-only, no `patch nodes`, and a rule NRC's schema and webhook accept.
     */
    @ParameterizedTest(name = "kustomize {0}, overlays/{1}")
    @MethodSource("kustomizesAndOverlays")
    void theNodeReadinessControllerComponentKeepsOneTaintKeyEverywhere(String version, String overlay)
            throws Exception {
        String rendered = renderWith(version, overlay, "node-readiness-controller");
        String key = taintKey(rendered);
        assertThat(key).isEqualTo("readiness.k8s.io/kubelet-serving-certificate");
        assertThat(policyKeys(rendered)).isEqualTo(key);
        assertThat(rendered).contains("  NODE_CONDITION: reporter-only\n").contains("  MODE: continuous\n");
        int rules = 0;
        for (Object doc : new org.yaml.snakeyaml.Yaml().loadAll(rendered)) {
            if (!(doc instanceof java.util.Map<?, ?> object)) {
                continue;
            }
            switch (String.valueOf(object.get("kind"))) {
                case "NodeReadinessRule" -> {
                    rules++;
                    java.util.Map<?, ?> spec = (java.util.Map<?, ?>) object.get("spec");
                    assertThat(((java.util.Map<?, ?>) spec.get("taint")).get("key")).isEqualTo(key);
                    assertThat(spec.get("enforcementMode")).isEqualTo("bootstrap-only");
                    assertThat(spec.get("conditions")).isEqualTo(List.of(java.util.Map.of("type",
                            io.github.kscu.kube.NodeCondition.CERT_TYPE, "requiredStatus", "True")));
                    // NRC's webhook refuses an empty selector, and defaultStatus with bootstrap-only.
                    assertThat((java.util.Map<?, ?>) spec.get("nodeSelector")).isNotEmpty();
                    assertThat(String.valueOf(spec)).doesNotContain("defaultStatus");
                }
                case "ClusterRole" -> assertThat(String.valueOf(object.get("rules"))).isEqualTo(
                        "[{apiGroups=[], resources=[nodes], verbs=[get, watch]},"
                                + " {apiGroups=[], resources=[nodes/status], verbs=[patch]}]");
                case "NodePool" -> assertThat(new org.yaml.snakeyaml.Yaml().dumpAsMap(object))
                        .containsPattern("startupTaints:\n      - effect: NoSchedule\n        key: " + Pattern.quote(key) + "\n");
                default -> { }
            }
        }
        assertThat(rules).isEqualTo(1);
        cp.installNodeReadinessRuleCrd();
        dryRunApply(rendered);
    }

    /**
     * The condition alone, added to any overlay from outside: the agent reports and still removes its
     * taint (NODE_CONDITION=on, `patch nodes` kept), gains `patch nodes/status`, and brings the policy
     * that holds that to its own condition.
     */
    @ParameterizedTest(name = "kustomize {0}, overlays/{1}")
    @MethodSource("kustomizesAndOverlays")
    void theNodeConditionComponentAddsTheConditionAndKeepsTheTaint(String version, String overlay) throws Exception {
        String rendered = renderWith(version, overlay, "node-condition");
        assertThat(rendered).contains("  NODE_CONDITION: \"on\"\n");
        assertThat(policyKeys(rendered)).isEqualTo(taintKey(rendered));
        int roles = 0;
        int policies = 0;
        for (Object doc : new org.yaml.snakeyaml.Yaml().loadAll(rendered)) {
            if (!(doc instanceof java.util.Map<?, ?> object)) {
                continue;
            }
            String name = String.valueOf(((java.util.Map<?, ?>) object.get("metadata")).get("name"));
            switch (String.valueOf(object.get("kind"))) {
                case "ClusterRole" -> {
                    roles++;
                    assertThat(String.valueOf(object.get("rules"))).isEqualTo(
                            "[{apiGroups=[], resources=[nodes], verbs=[get, patch, watch]},"
                                    + " {apiGroups=[], resources=[nodes/status], verbs=[patch]}]");
                }
                case "ValidatingAdmissionPolicy" -> {
                    if (String.valueOf(object.get("spec")).contains("nodes/status")) {
                        policies++;
                        assertThat(name).contains("condition");
                    }
                }
                default -> { }
            }
        }
        assertThat(roles).isEqualTo(1);
        assertThat(policies).as("a policy on nodes/status").isEqualTo(1);
        dryRunApply(rendered);
    }

    /**
     * Every overlay ships the admission policy with no parameter (nothing to find, so nothing to miss) and
     * the overlay's TAINT_KEY written into it.
     */
    @ParameterizedTest
    @MethodSource("overlays")
    void everyOverlayRendersThePolicyWithItsTaintKey(String overlay) throws Exception {
        String rendered = build(KUSTOMIZE.resolve("overlays").resolve(overlay));
        assertThat(rendered).contains("kind: ValidatingAdmissionPolicy\n").contains("kind: ValidatingAdmissionPolicyBinding\n")
                .doesNotContain("paramKind").doesNotContain("paramRef");
        assertThat(policyKeys(rendered)).isEqualTo(taintKey(rendered));
    }

    /** The default install holds no kubelet credentials: nothing from the host, not root. */
    @ParameterizedTest
    @MethodSource("overlays")
    void everyOverlayMountsNothingFromTheHostAndRunsAsNonRoot(String overlay) throws Exception {
        String rendered = build(KUSTOMIZE.resolve("overlays").resolve(overlay));
        assertThat(rendered).doesNotContain("hostPath").contains("runAsNonRoot: true").doesNotContain("runAsUser: 0")
                .contains("CERT_SOURCE: kubelet");
    }

    /**
     * Linux nodes only: the image is a Linux one, and a pod on a Windows or virtual node would never turn
     * Ready, so the DaemonSet would never be fully available and GitOps health never green.
     */
    @ParameterizedTest
    @MethodSource("overlays")
    void everyOverlayRunsOnLinuxNodesOnly(String overlay) throws Exception {
        String rendered = build(KUSTOMIZE.resolve("overlays").resolve(overlay));
        assertThat(rendered).contains("      nodeSelector:\n        kubernetes.io/os: linux\n");
    }

    /** The file source, for drop-in users, mounts the kubelet's pki directory read-only as root, and says so. */
    @Test
    void theFileSourceComponentMountsThePkiDirectoryReadOnly() throws Exception {
        String rendered = cp.render("overlays/generic", "", "file-source");
        assertThat(rendered).contains("CERT_SOURCE: file").contains("path: /var/lib/kubelet/pki")
                .containsPattern("mountPath: /var/lib/kubelet/pki\\s+name: kubelet-pki\\s+readOnly: true")
                .contains("runAsUser: 0");
        dryRunApply(rendered);
    }

    /** The opt-out for old clusters takes the policy and its binding out of any overlay, and nothing else. */
    @ParameterizedTest
    @MethodSource("overlays")
    void theOptOutComponentRemovesThePolicyFromAnOverlay(String overlay) throws Exception {
        String rendered = cp.render("overlays/" + overlay, "", OPT_OUT);
        assertThat(rendered).doesNotContain("kind: ValidatingAdmissionPolicy").contains("kind: DaemonSet");
        dryRunApply(rendered);
    }

    /**
     * An outer kustomization that merges another TAINT_KEY and repeats the admission-policy component's
     * replacement after it (docs/install.md) renders a policy with the new key; ClientMatrixIT proves both
     * that and the refusal without it on the apiserver.
     */
    @Test
    void anOuterTaintKeyMergeReachesThePolicyWithTheDocumentedReplacement() throws Exception {
        String merge = ClientMatrixIT.MERGE_OTHER_KEY;
        assertThat(policyKeys(cp.render("overlays/generic", merge))).isEqualTo("example.com/kubelet-no-server-cert");
        String rendered = cp.render("overlays/generic", merge + ClientMatrixIT.COPY_TAINT_KEY);
        assertThat(taintKey(rendered)).isEqualTo(ClientMatrixIT.OTHER_KEY);
        assertThat(policyKeys(rendered)).isEqualTo(ClientMatrixIT.OTHER_KEY);
    }

    /** TAINT_KEY of the one generated ConfigMap. */
    private static String taintKey(String rendered) {
        Matcher m = Pattern.compile("\n  TAINT_KEY: (\\S+)\n").matcher(rendered);
        assertThat(m.find()).as("TAINT_KEY in the ConfigMap").isTrue();
        return m.group(1);
    }

    /** The taint keys written into the policy (its taintKeySetting variable, a CEL string literal). */
    @SuppressWarnings("unchecked")
    private static String policyKeys(String rendered) {
        for (Object doc : new org.yaml.snakeyaml.Yaml().loadAll(rendered)) {
            if (doc instanceof java.util.Map<?, ?> object && "ValidatingAdmissionPolicy".equals(object.get("kind"))) {
                var spec = (java.util.Map<String, Object>) object.get("spec");
                for (var variable : (List<java.util.Map<String, Object>>) spec.getOrDefault("variables", List.of())) {
                    if ("taintKeySetting".equals(variable.get("name"))) {
                        String literal = (String) variable.get("expression");
                        assertThat(literal).startsWith("'").endsWith("'");
                        return literal.substring(1, literal.length() - 1);
                    }
                }
            }
        }
        throw new AssertionError("no taintKeySetting in the rendered policy");
    }

    /**
     * The deployment e2e/run.sh installs in its kubelet pass renders and passes dry-run; it uses the run's
     * image and the apiserver address the local-node provider listens on; and the kind worker registers
     * with TAINT_KEY. These are written in three places that nothing else ties together.
     */
    @Test
    void e2eDeploymentMatchesItsProviders() throws Exception {
        Path dir = Path.of("target/manifests-it/e2e-kubelet").toAbsolutePath();
        Process write = new ProcessBuilder("bash", "e2e/run.sh", "local-node", "--kustomization", "kubelet",
                dir.toString())
                .redirectErrorStream(true).start();
        String out = new String(write.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(write.waitFor()).as("e2e/run.sh --kustomization: %s", out).isZero();
        String rendered = build(dir);
        assertThat(rendered).contains("image: localhost/kubelet-server-cert-untaint:e2e")
                .contains("imagePullPolicy: Never");
        dryRunApply(rendered);

        String localNode = Files.readString(Path.of("e2e/providers/local-node.sh"));
        Matcher ip = Pattern.compile("(?m)^LN_NODE_IP=(\\S+)$").matcher(localNode);
        Matcher port = Pattern.compile("(?m)^LN_API_PORT=(\\S+)$").matcher(localNode);
        assertThat(ip.find() && port.find()).as("LN_NODE_IP and LN_API_PORT in local-node.sh").isTrue();
        assertThat(rendered).containsPattern("name: KUBERNETES_SERVICE_HOST\\s+value: \"?" + Pattern.quote(ip.group(1)))
                .containsPattern("name: KUBERNETES_SERVICE_PORT\\s+value: \"?" + Pattern.quote(port.group(1)));

        Matcher configured = TAINT_KEY.matcher(rendered);
        assertThat(configured.find()).isTrue();
        assertThat(Files.readString(Path.of("e2e/providers/kind-config.yaml")))
                .as("the kind worker's startup taint").contains("key: " + configured.group(1) + "\n");
    }

    @Test
    void baseIsLabelledAndUsesAnImagesEntry() throws Exception {
        String rendered = build(KUSTOMIZE.resolve("base"));
        assertThat(rendered).contains("app.kubernetes.io/name: kubelet-server-cert-untaint")
                .contains("image: ghcr.io/kubelet-server-cert-untaint/kubelet-server-cert-untaint:0.1.0")
                .doesNotContain("name: system:");
    }
}
