package io.github.kscu.testing;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Agent settings for tests, as the environment the DaemonSet would give: defaults, then overrides. */
public final class TestSettings {
    private TestSettings() {
    }

    /** {@code defaults}, then {@code kv} (name/value pairs by environment name) over them. */
    public static Map<String, String> of(Map<String, String> defaults, String... kv) {
        if (kv.length % 2 != 0) {
            throw new IllegalArgumentException("name/value pairs expected, got an odd count: " + kv.length);
        }
        Map<String, String> m = new HashMap<>(defaults);
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    /**
     * An agent on {@code node}: no start-up jitter, no health server, Events in kube-system as the
     * DaemonSet posts them (its Role is there), and no admission policy check, as with
     * {@code components/no-admission-policy}: most tests install no policy (it would refuse their
     * tokens, which are not bound to a pod), so the check would only add a Warning to every Event count.
     * Tests of the check set {@code ADMISSION_POLICY_CHECK} themselves. Then {@code kv}. The certificate
     * source is left to {@code kv} (the binary's default is the file source).
     */
    public static Map<String, String> agent(String node, Path kubeconfig, String... kv) {
        return of(Map.of("NODE_NAME", node, "KUBECONFIG", kubeconfig.toString(), "STARTUP_JITTER", "0",
                "HEALTH_ADDR", "off", "POD_NAMESPACE", "kube-system", "ADMISSION_POLICY_CHECK", "off"), kv);
    }

    /** {@link #agent(String, Path, String...)} with the file source at {@code cert}. */
    public static Map<String, String> agent(String node, Path kubeconfig, Path cert, String... kv) {
        return of(agent(node, kubeconfig, "CERT_FILE", cert.toString()), kv);
    }
}
