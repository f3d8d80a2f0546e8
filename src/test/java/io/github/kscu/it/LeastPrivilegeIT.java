package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.agent.Agent;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import java.nio.file.Path;
import java.time.Duration;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent runs with a TokenRequest token of the ServiceAccount from {@code kustomize/base}, whose RBAC
 * is applied as rendered by the pinned kustomize: it can do its job and nothing else we tried.
 */
@ExtendWith(ControlPlaneExtension.class)
class LeastPrivilegeIT {
    @Test
    void baseRbacIsEnoughAndNoMore(ControlPlane cp, @TempDir Path dir) throws Exception {
        Kube kube = cp.kube();
        String token = cp.agentToken();
        Path kubeconfig = cp.tokenKubeconfig("least-privilege", token);

        String node = "node-rbac";
        kube.createNode(node, OURS + ":NoSchedule", "other.io/x:NoSchedule");
        Agents agents = new Agents(dir);
        try (agents) {
            agents.issueCert(node);
            Agent agent = agents.start(agents.settings(node, kubeconfig));
            assertThat(agent.awaitFinished(Duration.ofSeconds(30))).isTrue();
            assertThat(kube.taints(node)).containsExactly("other.io/x:NoSchedule");
            // The Event is posted in the background after the taint is gone: wait for it.
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(Scraped.requests(agent.metrics(), "create-event", "201")).isEqualTo(1));
            assertThat(Scraped.requests(agent.metrics(), "patch", "200")).isEqualTo(1);
        }

        OkHttpClient http = cp.tokenHttp(token);
        // The refusals below mean something only if the token is accepted as the ServiceAccount.
        assertThat(cp.whoAmI(http)).startsWith("201 ")
                .contains("system:serviceaccount:kube-system:kubelet-server-cert-untaint");
        String base = cp.url();
        MediaType merge = MediaType.get("application/merge-patch+json");
        assertThat(code(http, new Request.Builder().url(base + "/api/v1/namespaces/kube-system/secrets")))
                .as("list secrets").isEqualTo(403);
        assertThat(code(http, new Request.Builder().url(base + "/api/v1/nodes/" + node).delete()))
                .as("delete node").isEqualTo(403);
        assertThat(code(http, new Request.Builder().url(base + "/api/v1/nodes")))
                .as("list nodes").isEqualTo(403);
        assertThat(code(http, new Request.Builder().url(base + "/api/v1/namespaces/default/pods/any")
                .patch(RequestBody.create("{\"metadata\":{\"labels\":{\"x\":\"y\"}}}", merge))))
                .as("patch pods").isEqualTo(403);
        assertThat(code(http, new Request.Builder().url(base + "/api/v1/nodes/" + node + "/status")
                .patch(RequestBody.create("{\"status\":{}}", merge))))
                .as("patch nodes/status").isEqualTo(403);
    }

    private static int code(OkHttpClient http, Request.Builder request) throws Exception {
        try (Response r = http.newCall(request.build()).execute()) {
            return r.code();
        }
    }
}
