package io.github.kscu.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.kscu.testing.TestCerts;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.util.Base64;
import javax.net.ssl.X509KeyManager;
import org.junit.jupiter.api.Test;

/** The JDK-only key parsing that lets the image ship without Bouncy Castle (see pom.xml). */
class ClientCertificatesTest {
    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String pkcs8Pem(PrivateKey key) {
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    @Test
    void rsaPkcs1AndPkcs8() throws Exception {
        KeyPair rsa = TestCerts.rsaKeys();
        String pkcs1 = TestCerts.pem(rsa); // Bouncy Castle writes a key pair as "RSA PRIVATE KEY"
        assertThat(pkcs1).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(ClientCertificates.privateKey(ascii(pkcs1)).getEncoded()).isEqualTo(rsa.getPrivate().getEncoded());
        assertThat(ClientCertificates.privateKey(ascii(pkcs8Pem(rsa.getPrivate()))).getEncoded())
                .isEqualTo(rsa.getPrivate().getEncoded());
    }

    @Test
    void ecSec1WithAndWithoutParametersBlock() throws Exception {
        KeyPair ec = TestCerts.ecKeys();
        String sec1 = TestCerts.sec1Pem(ec);
        assertThat(sec1).startsWith("-----BEGIN EC PRIVATE KEY-----");
        PrivateKey parsed = ClientCertificates.privateKey(ascii(sec1));
        assertThat(parsed.getAlgorithm()).isEqualTo("EC");
        assertThat(((java.security.interfaces.ECPrivateKey) parsed).getS())
                .isEqualTo(((java.security.interfaces.ECPrivateKey) ec.getPrivate()).getS());
        // openssl ecparam -genkey writes the curve first
        String withParams = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + sec1;
        assertThat(ClientCertificates.privateKey(ascii(withParams)).getAlgorithm()).isEqualTo("EC");
        assertThat(ClientCertificates.privateKey(ascii(pkcs8Pem(ec.getPrivate()))).getAlgorithm()).isEqualTo("EC");
    }

    @Test
    void keyManagersPresentTheCertificate() throws Exception {
        TestCerts.Issued ca = TestCerts.ca("ca");
        TestCerts.Issued admin = TestCerts.client(ca, "admin", "system:masters", TestCerts.ecKeys());
        var managers = ClientCertificates.keyManagers(ascii(admin.certificatePem()), ascii(admin.keyPem()));
        X509KeyManager km = (X509KeyManager) managers[0];
        assertThat(km.getCertificateChain("client")[0]).isEqualTo(admin.certificate());
    }

    @Test
    void garbageIsAClearError() {
        assertThatThrownBy(() -> ClientCertificates.privateKey(ascii("not a key")))
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessage("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY PEM block");
        assertThatThrownBy(() -> ClientCertificates.keyManagers(ascii(""), ascii("x")))
                .isInstanceOf(GeneralSecurityException.class);
    }
}
