package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.agent.Agent;
import io.github.kscu.report.Metrics;
import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's start-up check of the admission policy (ADMISSION_POLICY_CHECK), on a real apiserver with the
 * generic overlay installed as the README says and the agent's own pod-bound token: with the policy in
 * force it says nothing; with the binding deleted it posts AdmissionPolicyNotEnforced and exports 0, and
 * with {@code require} it sends no PATCH at all.
 */
@ExtendWith(ControlPlaneExtension.class)
@ControlPlaneExtension.Options
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdmissionCheckIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** With warn the check comes up to a minute after the removal (AdmissionCheck.WARN_SPREAD). */
    private static final Duration CHECKED = Duration.ofSeconds(90);

    private final ControlPlane cp;
    private final Kube kube;
    @TempDir
    Path dir;
    private Agents agents;

    AdmissionCheckIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeAll
    void install() throws Exception {
        cp.tool("kubectl", null, "apply", "-k", "kustomize/overlays/generic");
    }

    @AfterAll
    void stop() {
        if (agents != null) {
            agents.close();
        }
    }

    /** An agent on a new tainted node, with a token bound to a pod there, as the kubelet mints it. */
    private Agent agentOn(String node, String... kv) throws Exception {
        kube.createNode(node, OURS + ":NoSchedule");
        Path kubeconfig = cp.tokenKubeconfig(node, kube.podBoundAgentToken(node));
        if (agents == null) {
            agents = new Agents(dir);
        }
        // The check as the DaemonSet ships it (warn), unless kv says otherwise.
        String[] settings = new String[kv.length + 4];
        System.arraycopy(new String[] {"SKIP_CERT_CHECK", "true", "ADMISSION_POLICY_CHECK", "warn"}, 0, settings, 0, 4);
        System.arraycopy(kv, 0, settings, 4, kv.length);
        return agents.start(agents.settings(node, kubeconfig, settings));
    }

    @Test
    @Order(1)
    void aPolicyInForceIsCheckedAndNothingIsSaid() throws Exception {
        // The policy is loaded through an informer: the first agent may come before it. Wait as a real
        // DaemonSet would not need to (it starts long after the install).
        Thread.sleep(2000);
        Agent agent = agentOn("node-in-force");
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(kube.taints("node-in-force")).isEmpty();
        await().atMost(CHECKED).until(() -> "1.0".equals(enforced(agent.metrics())));
        assertThat(Scraped.requests(agent.metrics(), "check-policy", "403")).isEqualTo(1);
        assertThat(kube.eventReasons("node-in-force")).doesNotContain(Reason.ADMISSION_POLICY_NOT_ENFORCED.value());
    }

    @Test
    @Order(2)
    void withTheBindingDeletedItIsAWarningEventAndAMetric() throws Exception {
        deleteTheBinding();
        Agent agent = agentOn("node-unbound");
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        await().atMost(CHECKED).until(() -> "0.0".equals(enforced(agent.metrics())));
        await().atMost(WAIT).until(() -> kube.eventReasons("node-unbound")
                .contains(Reason.ADMISSION_POLICY_NOT_ENFORCED.value()));
        assertThat(kube.eventNote("node-unbound", Reason.ADMISSION_POLICY_NOT_ENFORCED.value()))
                .contains("ValidatingAdmissionPolicy", "ADMISSION_POLICY_CHECK=warn");
        // warn, the default: the taint still goes.
        assertThat(kube.taints("node-unbound")).isEmpty();
        // A dry run: the label was never stored.
        assertThat(kube.call("GET", "/api/v1/nodes/node-unbound", null, null)).doesNotContain("admission-check");
    }

    @Test
    @Order(3)
    void requireSendsNoPatchAtAll() throws Exception {
        deleteTheBinding();
        Agent agent = agentOn("node-strict", "ADMISSION_POLICY_CHECK", "require");
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_ADMISSION_POLICY);
        await().atMost(WAIT).until(() -> kube.eventReasons("node-strict")
                .contains(Reason.ADMISSION_POLICY_NOT_ENFORCED.value()));
        Thread.sleep(2000);
        assertThat(Scraped.requests(agent.metrics(), "patch")).isZero();
        assertThat(kube.taints("node-strict")).containsExactly(OURS + ":NoSchedule");
        assertThat(kube.eventNote("node-strict", Reason.ADMISSION_POLICY_NOT_ENFORCED.value()))
                .contains("no taint is removed until it is");
        agent.close();
    }

    private void deleteTheBinding() throws Exception {
        cp.tool("kubectl", null, "delete", "validatingadmissionpolicybinding", "kubelet-server-cert-untaint",
                "--ignore-not-found", "--wait");
        // The apiserver drops it through an informer: give it the moment it needs.
        Thread.sleep(2000);
    }

    /** The value of kscu_admission_policy_enforced, or null when it is not exported. */
    private static String enforced(Metrics metrics) {
        Double v = Scraped.gauge(metrics, "kscu_admission_policy_enforced");
        return v == null ? null : Double.toString(v);
    }
}
