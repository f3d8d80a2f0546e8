package io.github.kscu.it;

import io.github.kscu.agent.Agent;
import io.github.kscu.agent.Wiring;
import io.github.kscu.config.InvalidSettingException;
import io.github.kscu.config.Settings;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds in-process agents for integration tests, each with its own certificate directory. */
final class Agents implements AutoCloseable {
    static final String OURS = "example.com/kubelet-no-server-cert";
    private static final TestCerts.Issued CA = TestCerts.ca("kubelet-ca");

    private final Path root;
    private final List<Agent> started = new ArrayList<>();

    Agents(Path root) {
        this.root = root;
    }

    /**
     * Settings for {@code node} with quick test timings, Events in kube-system as the DaemonSet posts them
     * (its Role is there); {@code kv} overrides by env name.
     */
    Settings settings(String node, Path kubeconfig, String... kv) throws Exception {
        return Settings.fromMap(TestSettings.of(TestSettings.agent(node, kubeconfig, certFile(node),
                "SETTLE_DURATION", "0", "CERT_CHECK_INTERVAL", "60s"), kv));
    }

    Path certFile(String node) {
        return root.resolve(node).resolve("pki/kubelet-server-current.pem");
    }

    Agent start(Settings s) throws InvalidSettingException {
        Agent a = Wiring.agent(s);
        started.add(a);
        return a.start();
    }

    /** Writes a valid serving certificate the way the kubelet does (new PEM, then symlink swap). */
    void issueCert(String node) throws IOException {
        TestCerts.serving(CA, node).installLikeKubelet(certFile(node));
    }

    @Override
    public void close() {
        started.forEach(Agent::close);
    }
}
