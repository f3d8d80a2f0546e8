package io.github.kscu.agent;

import static io.github.kscu.agent.FakeNodeApi.taint;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.agent.RemovalStep.Action;
import io.github.kscu.taint.Taint;
import io.github.kscu.taint.Taints;
import io.github.kscu.taint.Taints.Plan;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What the taint remover does next, from the node's plan, the certificate and the time taken. */
class RemovalStepTest {
    private static final Taint OURS = taint("example.com/kubelet-no-server-cert", "NoSchedule");
    private static final Taint UNREGISTERED = taint(Taints.KARPENTER_UNREGISTERED, "NoExecute");
    private static final Taint OTHER = taint("example.com/other", "NoSchedule");

    /** A plan by name: none (not read yet), clean, tainted, gated (ours and Karpenter's unregistered). */
    private static Plan plan(String node) {
        List<Taint> ours = List.of(OURS);
        return switch (node) {
            case "none" -> null;
            case "clean" -> new Plan(List.of(OTHER), List.of(), false);
            case "tainted" -> new Plan(List.of(OTHER), ours, false);
            case "gated" -> new Plan(List.of(UNREGISTERED), ours, true);
            default -> throw new IllegalArgumentException(node);
        };
    }

    @ParameterizedTest(name = "node {0}, stale {1}, cert permits {2}, slow due {3}: {4}")
    @CsvSource({
        // Slow is reported first, even before a GET or with the node unread: the API may be what is slow.
        "tainted, false, true,  true,  REPORT_SLOW",
        "none,    true,  false, true,  REPORT_SLOW",
        "clean,   false, true,  true,  REPORT_SLOW",
        // A failure said the view is stale: read before anything else.
        "tainted, true,  true,  false, GET",
        "clean,   true,  false, false, GET",
        "none,    true,  true,  false, GET",
        "none,    false, true,  false, WAIT_FOR_NODE",
        "none,    false, false, false, WAIT_FOR_NODE",
        // No taint of ours: done, whatever the certificate says (another writer removed it).
        "clean,   false, true,  false, DONE",
        "clean,   false, false, false, DONE",
        // Never untaint on an invalid certificate, gated or not.
        "tainted, false, false, false, WAIT_FOR_CERT",
        "gated,   false, false, false, WAIT_FOR_CERT",
        "gated,   false, true,  false, WAIT_FOR_GATE",
        "tainted, false, true,  false, PATCH",
    })
    void beforeAPatch(String node, boolean stale, boolean certPermits, boolean slowDue, Action expected) {
        assertThat(RemovalStep.next(plan(node), stale, certPermits, slowDue)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "answer {0}: {1}")
    @CsvSource({
        "clean,   DONE",
        // Our own PATCH's answer still has the taint: someone re-adds it as we remove it.
        "tainted, BACK_OFF_CONTESTED",
        "gated,   BACK_OFF_CONTESTED",
    })
    void afterOurPatch(String answer, Action expected) {
        assertThat(RemovalStep.afterPatch(plan(answer))).isEqualTo(expected);
    }
}
