package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One source for the taint keys, on the real apiserver: a user's kustomization around the generic
 * overlay merges another TAINT_KEY into the agent's ConfigMap; the admission policy must then allow
 * removing the new key and refuse removing the old one (before, it kept the old one and every patch
 * of the agent was denied).
 */
@ExtendWith(ControlPlaneExtension.class)
@ControlPlaneExtension.Options
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PolicyParameterIT {
    private static final MediaType JSON_PATCH = MediaType.get("application/json-patch+json");
    private static final String NEW_KEY = "other.io/boot";

    private final ControlPlane cp;
    private final Kube kube;
    private OkHttpClient agent;

    PolicyParameterIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeAll
    void installWithAnotherTaintKey() throws Exception {
        String rendered = cp.render("overlays/generic", """
                configMapGenerator:
                - name: kubelet-server-cert-untaint
                  behavior: merge
                  literals:
                  - TAINT_KEY=%s
                """.formatted(NEW_KEY));
        cp.tool("kubectl", rendered, "apply", "-f", "-", "--server-side", "--field-manager=kscu-test");
        kube.createNode("node-a", NEW_KEY + ":NoSchedule", OURS + ":NoSchedule");
        agent = cp.tokenHttp(kube.podBoundAgentToken("node-a"));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (removeDryRun(OURS) != 403 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
    }

    @Test
    void theOldKeyMayNoLongerBeRemoved() throws Exception {
        assertThat(removeDryRun(OURS)).isEqualTo(403);
        assertThat(lastAnswer).contains("may only remove taints matching [" + NEW_KEY + "]");
    }

    @Test
    void theMergedKeyMayBeRemoved() throws Exception {
        assertThat(removeDryRun(NEW_KEY)).as("%s", lastAnswer).isEqualTo(200);
    }

    /** Removes {@code key} from node A the way the agent does, as a server-side dry run; returns the status. */
    private int removeDryRun(String key) throws Exception {
        String both = "[{\"key\":\"" + NEW_KEY + "\",\"effect\":\"NoSchedule\"},{\"key\":\"" + OURS
                + "\",\"effect\":\"NoSchedule\"}]";
        String other = key.equals(OURS) ? NEW_KEY : OURS;
        String patch = "[{\"op\":\"test\",\"path\":\"/spec/taints\",\"value\":" + both + "},"
                + "{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":[{\"key\":\"" + other
                + "\",\"effect\":\"NoSchedule\"}]}]";
        try (Response r = agent.newCall(new Request.Builder().url(cp.url() + "/api/v1/nodes/node-a?dryRun=All")
                .patch(RequestBody.create(patch, JSON_PATCH)).build()).execute()) {
            lastAnswer = r.body().string();
            return r.code();
        }
    }

    private String lastAnswer = "";
}
