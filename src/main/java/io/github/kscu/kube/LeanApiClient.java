package io.github.kscu.kube;

import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;

/**
 * client-java's {@link ApiClient}, configured by its {@code ClientBuilder} as usual (authentication with
 * token rotation, TLS, OkHttp), without two start-up costs the agent never uses:
 * <ul>
 * <li>{@code ApiClient.init()} creates a {@code JSON}, whose static initialiser registers a Gson adapter
 *     factory for every model of the Kubernetes API: 784 classes loaded and initialised at every start
 *     (and kept in the AOT cache). The agent writes its few requests and reads the answers itself
 *     ({@link HttpNodeApi}, {@link NodeJson}) and never asks the client to (de)serialise a model, so
 *     {@code getJSON()} is {@code null} here; {@code RuntimeIT} checks that no model class is loaded.</li>
 * <li>Each TLS setting ({@code setVerifyingSsl}, {@code setKeyManagers}, {@code setSslCaCert}) rebuilds
 *     the SSL context, and before the CA arrives it trusts the JDK's default store: ~140 CA certificates
 *     parsed into the heap (1–2 MiB, kept by the JDK's cache), three SSL contexts and, in OkHttp's first
 *     client, the platform trust manager once more. Here the TLS settings are applied once, by
 *     {@link #applyTls()}, after {@code ClientBuilder.build()} gave them all. Until then the client holds
 *     a placeholder socket factory that refuses every connection, so OkHttp builds no default trust
 *     manager either.</li>
 * </ul>
 */
final class LeanApiClient extends ApiClient {
    private boolean tlsDeferred;

    LeanApiClient() {
        tlsDeferred = true; // after super(): ApiClient's constructor runs init() and initHttpClient() first
    }

    @Override
    protected void init() {
        // ApiClient.init() without `json = new JSON()`.
        verifyingSsl = true;
        setUserAgent("kubelet-server-cert-untaint");
        authentications = new HashMap<>();
    }

    @Override
    protected void initHttpClient(List<Interceptor> interceptors) {
        // OkHttp builds the platform's default trust manager for a client without a socket factory.
        OkHttpClient.Builder builder = new OkHttpClient.Builder().sslSocketFactory(NotYet.FACTORY, NotYet.TRUST);
        interceptors.forEach(builder::addInterceptor);
        httpClient = builder.build();
    }

    @Override
    protected void applySslSettings() {
        if (!tlsDeferred) {
            super.applySslSettings();
        }
    }

    /** Applies the TLS settings ClientBuilder gave, once; call after {@code ClientBuilder.build()}. */
    ApiClient applyTls() {
        tlsDeferred = false;
        super.applySslSettings();
        return this;
    }

    /** The placeholder until {@link #applyTls()}: any use is a bug, and says so. */
    private static final class NotYet extends SSLSocketFactory implements X509TrustManager {
        static final NotYet FACTORY = new NotYet();
        static final NotYet TRUST = FACTORY;

        private static IOException notYet() {
            return new IOException("TLS settings not applied yet (LeanApiClient.applyTls)");
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return new String[0];
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return new String[0];
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            throw notYet();
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            throw notYet();
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            throw notYet();
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            throw notYet();
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            throw notYet();
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException(notYet());
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException(notYet());
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
