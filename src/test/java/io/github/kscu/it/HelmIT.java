package io.github.kscu.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The Helm chart, with helm v3 and v4 built from their Go modules: it renders the same objects as the
 * kustomize overlay and components it mirrors (names, labels and the checksum annotation aside), lints
 * strictly, takes the AWS Go sample chart's values, refuses bad ones with the key's name, and installs,
 * upgrades, rolls back and uninstalls on the real apiserver.
 */
@ExtendWith(ControlPlaneExtension.class)
@ControlPlaneExtension.Options
@SuppressWarnings("unchecked")
class HelmIT {
    private static final Path CHART = Path.of("charts/kubelet-server-cert-untaint").toAbsolutePath();
    /** The release name that gives the overlay's object names. */
    private static final String SAME_NAMES = "kubelet-server-cert-untaint";
    private static final String CONFIG = "<the agent's ConfigMap>";

    private final ControlPlane cp;

    HelmIT(ControlPlane cp) {
        this.cp = cp;
        ControlPlane.requireTools("the chart tests", "helm", "helm4");
    }

    /** Each chart setting beside the kustomize component that does the same. */
    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("defaults", List.of(), List.of()),
                Arguments.of("prometheus.enabled=true", List.of("prometheus.enabled=true"), List.of("prometheus")),
                Arguments.of("certSource=file", List.of("certSource=file"), List.of("file-source")),
                Arguments.of("admissionPolicy.enabled=false", List.of("admissionPolicy.enabled=false"),
                        List.of("no-admission-policy")),
                Arguments.of("nodeCondition.enabled=true", List.of("nodeCondition.enabled=true"),
                        List.of("node-condition")),
                Arguments.of("nodeReadinessController.enabled=true", List.of("nodeReadinessController.enabled=true"),
                        List.of("node-readiness-controller")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void theChartRendersWhatTheGenericOverlayRenders(String name, List<String> sets, List<String> components)
            throws Exception {
        Map<String, Object> overlay = normalize(cp.render("overlays/generic", "", components.toArray(String[]::new)));
        Map<String, Object> chart = normalize(template("helm", sets));
        assertThat(chart.keySet()).containsExactlyInAnyOrderElementsOf(overlay.keySet());
        for (String object : overlay.keySet()) {
            assertThat(canonical(chart.get(object))).as("%s from the chart", object)
                    .isEqualTo(canonical(overlay.get(object)));
        }
    }

    /** The same objects; helm v4 wraps long strings in other places, so the text may differ. */
    @Test
    void helm4RendersWhatHelm3Renders() throws Exception {
        List<String> all = List.of("prometheus.enabled=true", "nodeAffinity.x=y", "customLabels.team=a");
        assertThat(canonical(docs(template("helm4", all)))).isEqualTo(canonical(docs(template("helm", all))));
    }

    @ParameterizedTest
    @MethodSource("helms")
    void lintsStrictly(String helm) throws Exception {
        assertThat(cp.tool(helm, null, "lint", "--strict", CHART.toString())).contains("0 chart(s) failed");
    }

    static Stream<String> helms() {
        return Stream.of("helm", "helm4");
    }

    /**
     * A values file of the Go sample's chart, every key of it with other values than it ships (its shipped
     * values are GoSampleValuesIT's), used unchanged.
     */
    @Test
    void takesTheGoSampleChartsValues(@TempDir Path dir) throws Exception {
        Path values = Files.writeString(dir.resolve("go-sample-values.yaml"), """
                taintKey: node.example.com/cert-pending
                certCheckInterval: 5
                startupJitter: 2
                taintWatcherDuration: 45
                certCheckDuration: 120
                logLevel: 4
                skipCertCheck: false
                image:
                  repository: registry.example.com/untaint
                  tag: "1.2.3"
                  pullPolicy: Always
                resources:
                  requests: {cpu: 20m, memory: 80Mi}
                  limits: {memory: 128Mi}
                nodeAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                    nodeSelectorTerms:
                    - matchExpressions:
                      - {key: karpenter.sh/nodepool, operator: In, values: [gitlab-runners]}
                tolerations:
                - {operator: Exists}
                customLabels: {team: platform}
                podLabels: {sidecar.istio.io/inject: "false"}
                nameOverride: untaint
                fullnameOverride: cert-untaint
                """);
        Map<String, Map<String, Object>> objects = byKind(cp.tool("helm", null, "template", "r", CHART.toString(),
                "--namespace", "kube-system", "-f", values.toString()));
        assertThat(config(objects.get("ConfigMap"))).containsEntry("TAINT_KEY", "node.example.com/cert-pending")
                .containsEntry("CERT_CHECK_INTERVAL", "5").containsEntry("STARTUP_JITTER", "2")
                .containsEntry("TAINT_WATCHER_DURATION", "45").containsEntry("CERT_CHECK_DURATION", "120")
                .containsEntry("LOG_LEVEL", "4").containsEntry("SKIP_CERT_CHECK", "false");
        Map<String, Object> ds = objects.get("DaemonSet");
        assertThat(at(ds, "metadata").get("name")).isEqualTo("cert-untaint");
        assertThat(at(ds, "metadata", "labels")).asString().contains("team=platform")
                .contains("app.kubernetes.io/name=untaint");
        Map<String, Object> pod = at(ds, "spec", "template", "spec");
        Map<String, Object> container = ((List<Map<String, Object>>) pod.get("containers")).getFirst();
        assertThat(container).containsEntry("image", "registry.example.com/untaint:1.2.3")
                .containsEntry("imagePullPolicy", "Always");
        assertThat(container.get("resources")).asString().contains("memory=128Mi").contains("cpu=20m");
        assertThat(pod.get("affinity")).asString().contains("gitlab-runners");
        assertThat(pod.get("nodeSelector")).isEqualTo(Map.of("kubernetes.io/os", "linux"));
        assertThat(pod.get("tolerations")).asString().isEqualTo("[{operator=Exists}]");
        assertThat(at(ds, "spec", "template", "metadata", "labels")).asString().contains("sidecar.istio.io/inject=false");
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("certCheckInterval=banana", "certCheckInterval"),
                Arguments.of("taintKey=example.com/x:Never", "taintKey"),
                Arguments.of("certSource=disk", "certSource"),
                Arguments.of("onCertTimeout=ignore", "onCertTimeout"),
                Arguments.of("settleDuration=-5", "settleDuration"),
                Arguments.of("healthPort=0", "healthPort"),
                Arguments.of("image.pullPolicy=Sometimes", "pullPolicy"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void refusesABadValueNamingIt(String set, String key) {
        assertThatThrownBy(() -> template("helm", List.of(set))).hasMessageContaining(key)
                .hasMessageContaining("values don't meet the specifications of the schema");
    }

    @Test
    void installsUpgradesRollsBackAndUninstalls() throws Exception {
        String ns = "helm-it";
        String release = "kscu";
        String ds = "/apis/apps/v1/namespaces/" + ns + "/daemonsets/kscu-kubelet-server-cert-untaint";
        cp.tool("helm", null, "install", release, CHART.toString(), "--namespace", ns, "--create-namespace");
        Map<String, Object> installed = get(ds);
        String checksum = checksum(installed);
        assertThat(config(get("/api/v1/namespaces/" + ns + "/configmaps/kscu-kubelet-server-cert-untaint")))
                .containsEntry("SETTLE_DURATION", "10m");

        // A changed setting rolls the pods: a new pod template.
        cp.tool("helm", null, "upgrade", release, CHART.toString(), "--namespace", ns, "--reuse-values", "--set",
                "settleDuration=30m");
        Map<String, Object> upgraded = get(ds);
        assertThat(checksum(upgraded)).isNotEqualTo(checksum);
        assertThat((Integer) at(upgraded, "metadata").get("generation"))
                .isGreaterThan((Integer) at(installed, "metadata").get("generation"));
        assertThat(config(get("/api/v1/namespaces/" + ns + "/configmaps/kscu-kubelet-server-cert-untaint")))
                .containsEntry("SETTLE_DURATION", "30m");

        cp.tool("helm", null, "rollback", release, "1", "--namespace", ns);
        assertThat(checksum(get(ds))).isEqualTo(checksum);
        assertThat(cp.tool("helm", null, "history", release, "--namespace", ns)).contains("Rollback to 1");

        cp.tool("helm", null, "uninstall", release, "--namespace", ns, "--wait");
        String left = cp.tool("kubectl", null, "get",
                "serviceaccounts,configmaps,roles,rolebindings,daemonsets,clusterroles,clusterrolebindings,"
                        + "validatingadmissionpolicies,validatingadmissionpolicybindings",
                "-A", "-l", "app.kubernetes.io/instance=" + release, "-o", "name");
        assertThat(left).as("objects left after uninstall").isBlank();
        assertThat(cp.tool("kubectl", null, "get", "secrets", "-n", ns, "-o", "name")).as("release records").isBlank();
    }

    // Rendering and comparing.

    private String template(String helm, List<String> sets) throws Exception {
        List<String> args = new ArrayList<>(List.of("template", SAME_NAMES, CHART.toString(), "--namespace",
                "kube-system"));
        for (String s : sets) {
            args.addAll(List.of("--set", s));
        }
        return cp.tool(helm, null, args.toArray(String[]::new));
    }

    /**
     * The objects by kind and name, without what a chart and a kustomization legitimately name or label
     * differently: labels and selectors, the pod template's checksum annotation, the ConfigMap's name
     * (kustomize appends a content hash) where it is and where it is referred to, and how the policy
     * matches the agent's ServiceAccount.
     */
    private static Map<String, Object> normalize(String rendered) {
        Map<String, Object> out = new TreeMap<>();
        for (Map<String, Object> d : docs(rendered)) {
            Map<String, Object> meta = at(d, "metadata");
            meta.remove("labels");
            meta.remove("annotations");
            switch ((String) d.get("kind")) {
                case "ConfigMap" -> meta.put("name", CONFIG);
                case "DaemonSet" -> {
                    at(d, "spec").remove("selector");
                    at(d, "spec", "template", "metadata").remove("labels");
                    at(d, "spec", "template", "metadata").remove("annotations");
                    for (Map<String, Object> c : (List<Map<String, Object>>) at(d, "spec", "template", "spec")
                            .get("containers")) {
                        for (Map<String, Object> from : (List<Map<String, Object>>) c.get("envFrom")) {
                            ((Map<String, Object>) from.get("configMapRef")).put("name", CONFIG);
                        }
                    }
                }
                // The chart names its exact ServiceAccount; the overlay matches any prefix or suffix a
                // kustomization further out adds (the client matrix proves both with the agent's token).
                case "ValidatingAdmissionPolicy" -> {
                    for (Map<String, Object> c : (List<Map<String, Object>>) at(d, "spec").get("matchConditions")) {
                        c.put("expression", "<the agent's ServiceAccount>");
                    }
                }
                case "PodMonitor" -> at(d, "spec").remove("selector");
                default -> { }
            }
            out.put(d.get("kind") + "/" + meta.get("name"), d);
        }
        return out;
    }

    /** YAML with every map's keys sorted: equal objects give equal text, and a difference reads well. */
    private static String canonical(Object o) {
        return new Yaml().dumpAsMap(Map.of("object", sorted(o)));
    }

    private static Object sorted(Object o) {
        return switch (o) {
            case Map<?, ?> m -> {
                Map<String, Object> t = new TreeMap<>();
                m.forEach((k, v) -> t.put(String.valueOf(k), sorted(v)));
                yield t;
            }
            case List<?> l -> l.stream().map(HelmIT::sorted).toList();
            default -> o;
        };
    }

    private static List<Map<String, Object>> docs(String rendered) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object d : new Yaml(new LoaderOptions()).loadAll(rendered)) {
            if (d instanceof Map<?, ?> m) {
                docs.add((Map<String, Object>) m);
            }
        }
        return docs;
    }

    private static Map<String, Map<String, Object>> byKind(String rendered) {
        Map<String, Map<String, Object>> out = new TreeMap<>();
        docs(rendered).forEach(d -> out.put((String) d.get("kind"), d));
        return out;
    }

    /** The agent's settings: the ConfigMap's data. */
    private static Map<String, Object> config(Map<String, Object> configMap) {
        return at(configMap, "data");
    }

    private Map<String, Object> get(String path) throws IOException {
        return new Yaml(new LoaderOptions()).load(cp.kube().call("GET", path, null, null));
    }

    private static String checksum(Map<String, Object> daemonSet) {
        return (String) at(daemonSet, "spec", "template", "metadata", "annotations").get("checksum/config");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> at(Map<String, Object> o, String... path) {
        Map<String, Object> m = o;
        for (String p : path) {
            m = (Map<String, Object>) m.get(p);
        }
        return m;
    }
}
