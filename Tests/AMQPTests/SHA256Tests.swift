import AMQPCodec
import Testing

@testable import AMQP

@Suite("SHA-256 and HMAC-SHA256")
struct SHA256Tests {
    func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

    // FIPS 180-4 examples (and NIST's long-message vectors).
    @Test func fipsVectors() {
        #expect(hex(SHA256.hash(Array("".utf8))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex(SHA256.hash(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)))
            == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    // Lengths around the padding boundaries (55/56 bytes: the length field no longer
    // fits the last block), checked against Python's hashlib over bytes 0, 1, 2, ….
    @Test(arguments: [
        (55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"),
        (56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"),
        (57, "2fe741af801cc238602ac0ec6a7b0c3a8a87c7fc7d7f02a3fe03d1c12eac4d8f"),
        (63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"),
        (64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"),
        (65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"),
        (119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"),
        (120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"),
        (128, "471fb943aa23c511f6f72f8d1652d9c880cfa392ad80503120547703e56a2be5"),
    ])
    func paddingBoundaries(length: Int, digest: String) {
        let bytes = (0..<length).map { UInt8($0) }
        #expect(hex(SHA256.hash(bytes)) == digest)
        // Fed in pieces, the same digest.
        var h = SHA256()
        var i = 0
        var step = 1
        while i < bytes.count {
            let end = min(bytes.count, i + step)
            h.update(bytes[i..<end])
            i = end
            step = step % 7 + 1
        }
        #expect(hex(h.finalize()) == digest)
    }

    // RFC 4231, test cases 1 to 7 (case 5 is compared on its first 128 bits, as the RFC does).
    @Test func rfc4231() {
        let aa131 = [UInt8](repeating: 0xaa, count: 131)
        let cases: [([UInt8], [UInt8], String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            ((1...25).map { UInt8($0) }, [UInt8](repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (aa131, Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (aa131, Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for (key, data, mac) in cases {
            #expect(hex(HMACSHA256.authenticate(data, key: key)) == mac)
        }
        let truncated = HMACSHA256.authenticate(Array("Test With Truncation".utf8), key: [UInt8](repeating: 0x0c, count: 20))
        #expect(hex(Array(truncated.prefix(16))) == "a3b6167473100ee06e0c796c2955552b")
    }

    @Test func keysOfExactlyOneBlockAndOneMore() {
        #expect(hex(HMACSHA256.authenticate([UInt8(ascii: "m")], key: [UInt8](repeating: UInt8(ascii: "k"), count: 64)))
            == "3b7a8d453e76edb519238a515105a57508d0f169f480ebeee120a9e7803289fa")
        #expect(hex(HMACSHA256.authenticate([UInt8(ascii: "m")], key: [UInt8](repeating: UInt8(ascii: "k"), count: 65)))
            == "c2d7d4c2256ddb097409ec0c67e1d58fa1a007fc6932cac0d892a525d08af7cc")
    }

    @Test func base64() {
        #expect(Base64.encode([]) == "")
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64.encode(Array("foob".utf8)) == "Zm9vYg==")
        #expect(Base64.encode([0xfb, 0xff, 0xbf]) == "+/+/")
    }

    @Test func quotePlusMatchesPython() {
        #expect(FormEncoding.quotePlus("a b+c/d:é~_.-") == "a+b%2Bc%2Fd%3A%C3%A9~_.-")
        #expect(FormEncoding.quotePlus("sb://contoso.servicebus.windows.net/orders") == "sb%3A%2F%2Fcontoso.servicebus.windows.net%2Forders")
    }
}
