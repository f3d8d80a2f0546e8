package io.github.kscu.testing;

import java.io.IOException;
import java.time.Duration;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * A real Toxiproxy server (built by {@code make tools} from its Go module) with one TCP proxy in front of
 * an upstream, driven through its HTTP API. Toxics are what the fault tier injects: latency, resets, black
 * holes, sliced streams; disabling the proxy closes every connection and refuses new ones.
 */
public final class Toxiproxy implements AutoCloseable {
    private static final MediaType JSON = MediaType.get("application/json");
    private static final String PROXY = "apiserver";

    private final ControlPlane cp;
    private final Process process;
    private final String api;
    private final int listenPort;
    private final OkHttpClient http = new OkHttpClient.Builder().callTimeout(Duration.ofSeconds(10)).build();

    private Toxiproxy(ControlPlane cp, Process process, String api, int listenPort) {
        this.cp = cp;
        this.process = process;
        this.api = api;
        this.listenPort = listenPort;
    }

    /** Starts {@code toxiproxy-server} and a proxy from a free loopback port to {@code upstream}. */
    public static Toxiproxy start(ControlPlane cp, String upstream) throws IOException, InterruptedException {
        String bin = ControlPlane.requireTools("the fault tier's tests", "toxiproxy-server").resolve("toxiproxy-server")
                .toString();
        int apiPort = ControlPlane.freePort();
        String api = "http://127.0.0.1:" + apiPort;
        OkHttpClient probe = new OkHttpClient.Builder().callTimeout(Duration.ofSeconds(1)).build();
        Process p = cp.startProcess("toxiproxy", Duration.ofSeconds(30), () -> {
            try (Response r = probe.newCall(new Request.Builder().url(api + "/version").build()).execute()) {
                return r.isSuccessful();
            }
        }, bin, "-host", "127.0.0.1", "-port", Integer.toString(apiPort));
        Toxiproxy t = new Toxiproxy(cp, p, api, ControlPlane.freePort());
        t.call("POST", "/proxies", "{\"name\":\"" + PROXY + "\",\"listen\":\"127.0.0.1:" + t.listenPort
                + "\",\"upstream\":\"" + upstream + "\",\"enabled\":true}");
        return t;
    }

    /** Where clients connect to go through the proxy. */
    public String address() {
        return "127.0.0.1:" + listenPort;
    }

    /**
     * Adds a toxic.
     *
     * @param stream     {@code upstream} (client to server) or {@code downstream}
     * @param attributes the toxic's attributes as a JSON object body, e.g. {@code "latency":2000}
     */
    public void toxic(String name, String type, String stream, String attributes) throws IOException {
        call("POST", "/proxies/" + PROXY + "/toxics", "{\"name\":\"" + name + "\",\"type\":\"" + type
                + "\",\"stream\":\"" + stream + "\",\"toxicity\":1.0,\"attributes\":{" + attributes + "}}");
    }

    /** Disabled: every connection is closed and new ones are refused. */
    public void enabled(boolean on) throws IOException {
        call("POST", "/proxies/" + PROXY, "{\"enabled\":" + on + "}");
    }

    /** Removes every toxic and enables the proxy again. */
    public void reset() throws IOException {
        call("POST", "/reset", "");
    }

    private void call(String method, String path, String body) throws IOException {
        Request r = new Request.Builder().url(api + path).method(method, RequestBody.create(body, JSON)).build();
        try (Response response = http.newCall(r).execute()) {
            if (!response.isSuccessful()) {
                throw new IOException("toxiproxy " + method + " " + path + ": " + response.code() + " "
                        + response.body().string());
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        cp.stopProcess(process);
    }
}
