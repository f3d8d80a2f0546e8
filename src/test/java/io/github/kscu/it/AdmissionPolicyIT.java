package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The admission-policy component on the real apiserver: a ServiceAccount token bound to a pod on node A
 * (so it carries the node-name claim) may remove the startup taint from A and do nothing else.
 */
@ExtendWith(ControlPlaneExtension.class)
// Its own control plane: the policy refuses node patches by unbound ServiceAccount tokens, which the
// other tests use.
@ControlPlaneExtension.Options
class AdmissionPolicyIT {
    private static final MediaType JSON = MediaType.get("application/json");
    private static final MediaType JSON_PATCH = MediaType.get("application/json-patch+json");
    private static final MediaType MERGE = MediaType.get("application/merge-patch+json");

    @Test
    void podBoundTokenMayOnlyRemoveTheStartupTaintFromItsOwnNode(ControlPlane cp) throws Exception {
        cp.tool("kubectl", cp.renderBaseWith("admission-policy"), "apply", "-f", "-",
                "--server-side", "--field-manager=kscu-test");

        Kube kube = cp.kube();
        kube.createNode("node-a", "keep.io/x:NoSchedule", OURS + ":NoSchedule");
        kube.createNode("node-b", "keep.io/x:NoSchedule", OURS + ":NoSchedule");
        String pod = """
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent-a","namespace":"kube-system"},
                 "spec":{"nodeName":"node-a","serviceAccountName":"kubelet-server-cert-untaint",
                         "containers":[{"name":"agent","image":"kubelet-server-cert-untaint"}]}}""";
        JsonObject created = JsonParser.parseString(kube.call("POST", "/api/v1/namespaces/kube-system/pods", pod, JSON))
                .getAsJsonObject();
        String uid = created.getAsJsonObject("metadata").get("uid").getAsString();
        String request = """
                {"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600,
                 "boundObjectRef":{"apiVersion":"v1","kind":"Pod","name":"agent-a","uid":"%s"}}}""".formatted(uid);
        String token = JsonParser.parseString(kube.call("POST",
                "/api/v1/namespaces/kube-system/serviceaccounts/kubelet-server-cert-untaint/token", request, JSON))
                .getAsJsonObject().getAsJsonObject("status").get("token").getAsString();
        OkHttpClient http = cp.tokenHttp(token);

        // The token authenticates as the ServiceAccount and carries the node its pod is bound to.
        assertThat(cp.whoAmI(http)).startsWith("201 ")
                .contains("system:serviceaccount:kube-system:kubelet-server-cert-untaint")
                .contains("authentication.kubernetes.io/node-name").contains("node-a");

        String keep = "{\"key\":\"keep.io/x\",\"effect\":\"NoSchedule\"}";
        String ours = "{\"key\":\"" + OURS + "\",\"effect\":\"NoSchedule\"}";
        // Admission policies take effect a moment after they are created (the apiserver loads them through
        // an informer): wait until a dry run of a forbidden change is refused, then test for real.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (patch(http, cp, "node-b?dryRun=All", JSON_PATCH, replaceTaints("[" + keep + "]")) != 403
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        // Another node: refused even for exactly the allowed change.
        assertThat(patch(http, cp, "node-b", JSON_PATCH, replaceTaints("[" + keep + "]"))).as("patch node B").isEqualTo(403);
        assertThat(lastAnswer).contains("may change only the node its pod runs on");
        // Its own node: removing a foreign taint, adding one, and touching labels are refused.
        assertThat(patch(http, cp, "node-a", JSON_PATCH, replaceTaints("[" + ours + "]"))).as("remove foreign taint")
                .isEqualTo(403);
        assertThat(patch(http, cp, "node-a", JSON_PATCH, replaceTaints("[" + keep + "," + ours + ","
                + "{\"key\":\"new.io/y\",\"effect\":\"NoSchedule\"}]"))).as("add a taint").isEqualTo(403);
        assertThat(patch(http, cp, "node-a", MERGE, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}")).as("change labels")
                .isEqualTo(403);
        assertThat(patch(http, cp, "node-a", MERGE, "{\"spec\":{\"unschedulable\":true}}")).as("cordon")
                .isEqualTo(403);
        // The one thing it may do.
        assertThat(patch(http, cp, "node-a", JSON_PATCH, replaceTaints("[" + keep + "]"))).as("remove our taint: %s", lastAnswer).isEqualTo(200);
        assertThat(kube.taints("node-a")).containsExactly("keep.io/x:NoSchedule");
        assertThat(kube.taints("node-b")).containsExactly("keep.io/x:NoSchedule", OURS + ":NoSchedule");
    }

    private static String replaceTaints(String taints) {
        return "[{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":" + taints + "}]";
    }

    /** The status of a PATCH; the answer is kept for assertion messages. */
    private int patch(OkHttpClient http, ControlPlane cp, String node, MediaType type, String body)
            throws Exception {
        try (Response r = http.newCall(new Request.Builder().url(cp.url() + "/api/v1/nodes/" + node)
                .patch(RequestBody.create(body, type)).build()).execute()) {
            lastAnswer = r.body().string();
            return r.code();
        }
    }

    private String lastAnswer = "";
}
