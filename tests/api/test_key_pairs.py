"""SSH key pairs (KP-1..KP-5) through both official SDK generations.

Keys to import are made by ``ssh-keygen`` (certificates signed by throw-away CAs); the session server is
shared, so every assertion is about pairs and instances made in the test (unique names, own instances),
and the 500-pair quota is exercised in a fresh account of its own.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi import utils_models as tea_params
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkecs.request.v20140526.AttachKeyPairRequest import AttachKeyPairRequest as LegacyAttach
from aliyunsdkecs.request.v20140526.CreateKeyPairRequest import CreateKeyPairRequest as LegacyCreate
from aliyunsdkecs.request.v20140526.DeleteKeyPairsRequest import DeleteKeyPairsRequest as LegacyDelete
from aliyunsdkecs.request.v20140526.DescribeKeyPairsRequest import DescribeKeyPairsRequest as LegacyDescribe
from aliyunsdkecs.request.v20140526.DetachKeyPairRequest import DetachKeyPairRequest as LegacyDetach
from aliyunsdkecs.request.v20140526.ImportKeyPairRequest import ImportKeyPairRequest as LegacyImport
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
)
from darabonba.runtime import RuntimeOptions

from secplane.store import key_pairs as key_store
from secplane.testing import RunningServer, server
from tests.api.test_instances import G7, UBUNTU, WINDOWS, Net, World
from tests.api.test_prefix_lists import expect_error, expect_legacy_error, store
from tests.api.test_security_groups import other_account
from tests.conftest import legacy_call
from tests.unit.test_ssh_keys import (
    KEYGEN_ARGS,
    REFUSED,
    SSH_KEYGEN,
    V01_CERT_TYPES,
    make_key_files,
    needs_ssh_keygen,
    openssh_line,
    run_keygen,
    ssh_keygen_md5,
    v00_certificate,
)

REGION, OTHER_REGION = "cn-hangzhou", "cn-shanghai"
SECONDS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"

# ---------------------------------------------------------------- helpers


def unique(prefix: str = "kp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create(client: Client, name: str | None = None, region: str = REGION, **kw: Any) -> Any:
    request = m.CreateKeyPairRequest(region_id=region, key_pair_name=name or unique(), **kw)
    return client.create_key_pair(request).body


def import_key(client: Client, body: str, name: str | None = None, region: str = REGION, **kw: Any) -> Any:
    request = m.ImportKeyPairRequest(
        region_id=region, key_pair_name=name or unique(), public_key_body=body, **kw
    )
    return client.import_key_pair(request).body


def describe(client: Client, region: str = REGION, **kw: Any) -> Any:
    return client.describe_key_pairs(m.DescribeKeyPairsRequest(region_id=region, **kw)).body


def names(client: Client, **kw: Any) -> list[str]:
    kw.setdefault("page_size", 50)
    return [p.key_pair_name for p in describe(client, **kw).key_pairs.key_pair]


def delete(client: Client, key_pair_names: list[str], region: str = REGION) -> None:
    request = m.DeleteKeyPairsRequest(region_id=region, key_pair_names=json.dumps(key_pair_names))
    client.delete_key_pairs(request)


def attach(client: Client, name: str, instance_ids: list[str]) -> dict[str, Any]:
    request = m.AttachKeyPairRequest(
        region_id=REGION, key_pair_name=name, instance_ids=json.dumps(instance_ids)
    )
    return client.attach_key_pair(request).body.to_map()


def detach(client: Client, name: str, instance_ids: list[str]) -> dict[str, Any]:
    request = m.DetachKeyPairRequest(
        region_id=REGION, key_pair_name=name, instance_ids=json.dumps(instance_ids)
    )
    return client.detach_key_pair(request).body.to_map()


def outcomes(body: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    return {r["InstanceId"]: (r["Success"], r["Code"]) for r in body["Results"]["Result"]}


def secplane_state(running: RunningServer, instance_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Our own DescribeInstanceKeyPairs (product Secplane), called through the Tea SDK's generic API."""
    params = tea_params.Params(
        action="DescribeInstanceKeyPairs", version="2026-11-28", protocol="HTTP", pathname="/",
        method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )  # fmt: skip
    query = {"RegionId": REGION, "InstanceIds": json.dumps(instance_ids)}
    reply = Client(running.tea_config()).call_api(
        params, tea_params.OpenApiRequest(query=query), RuntimeOptions()
    )
    return {item["InstanceId"]: item for item in reply["body"]["Instances"]["Instance"]}


def authorized_keys(running: RunningServer, instance_id: str) -> list[str]:
    with store(running) as conn:
        return key_store.authorized_keys(conn, instance_id)


def public_key_of(client: Client, name: str, region: str = REGION) -> str:
    (pair,) = describe(client, region, key_pair_name=name, include_public_key=True).key_pairs.key_pair
    return str(pair.public_key)


@dataclass
class Place:
    """Where this module's instances live: one VPC, vSwitch and security group on the shared server."""

    world: World
    net: Net
    group: str

    def running(self, image_id: str = UBUNTU) -> str:
        return self.world.run(self.net, [self.group], image_id=image_id)[0]

    def stopped(self) -> str:
        request = m.CreateInstanceRequest(
            region_id=REGION, image_id=UBUNTU, instance_type=G7, security_group_id=self.group,
            v_switch_id=self.net.vswitch_id,
        )  # fmt: skip
        return str(self.world.ecs.create_instance(request).body.instance_id)

    def key_pair_of(self, instance_id: str) -> str:
        (instance,) = self.world.instances(instance_ids=json.dumps([instance_id]))
        return str(instance.key_pair_name)

    def reboot(self, instance_id: str) -> None:
        self.world.ecs.reboot_instance(m.RebootInstanceRequest(instance_id=instance_id))

    def stop(self, instance_id: str) -> None:
        self.world.ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id))

    def start(self, instance_id: str) -> None:
        self.world.ecs.start_instance(m.StartInstanceRequest(instance_id=instance_id))


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A key of every type ``ssh-keygen`` makes, certificates signed by throw-away CAs."""
    if SSH_KEYGEN is None:
        pytest.skip("ssh-keygen is not installed (apt-get install openssh-client)")
    return make_key_files(tmp_path_factory.mktemp("ssh-keys"))


@pytest.fixture(scope="module")
def place(api: RunningServer, ecs: Client) -> Place:
    world = World(api, ecs)
    net = world.network(vswitch_cidr="192.168.7.0/24")
    return Place(world, net, world.group(net.vpc_id))


# ---------------------------------------------------------------- CreateKeyPair (KP-1)


@needs_ssh_keygen
def test_create_returns_a_private_key_that_cryptography_and_ssh_keygen_load(
    ecs: Client, tmp_path: Path
) -> None:
    name = unique()
    body = create(ecs, name, tag=[m.CreateKeyPairRequestTag(key="team", value="blue")])
    assert body.key_pair_name == name and body.key_pair_id.startswith("ssh-bp")
    assert body.private_key_body.startswith("-----BEGIN PRIVATE KEY-----\n")
    private = load_pem_private_key(body.private_key_body.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    key_file = tmp_path / "id_rsa"
    key_file.write_text(body.private_key_body)
    key_file.chmod(0o600)
    stored = public_key_of(ecs, name)
    assert run_keygen("-y", "-f", key_file).strip() == stored
    (tmp_path / "id_rsa.pub").write_text(stored)
    assert body.key_pair_finger_print == ssh_keygen_md5(tmp_path / "id_rsa.pub")
    (pair,) = describe(ecs, key_pair_name=name).key_pairs.key_pair
    assert pair.public_key is None  # only with IncludePublicKey
    assert pair.key_pair_finger_print == body.key_pair_finger_print
    assert pair.resource_group_id.startswith("rg-")
    assert [(t.tag_key, t.tag_value) for t in pair.tags.tag] == [("team", "blue")]
    assert re.fullmatch(SECONDS, pair.creation_time)


@needs_ssh_keygen
def test_create_through_the_legacy_sdk(api: RunningServer, tmp_path: Path) -> None:
    name = unique()
    request = LegacyCreate()
    request.set_KeyPairName(name)
    request.set_Tags([{"Key": "via", "Value": "legacy"}])
    body = json.loads(legacy_call(api, request))
    assert set(body) == {"RequestId", "KeyPairName", "KeyPairId", "KeyPairFingerPrint", "PrivateKeyBody"}
    key_file = tmp_path / "id"
    key_file.write_text(body["PrivateKeyBody"])
    key_file.chmod(0o600)
    listing = LegacyDescribe()
    listing.set_KeyPairName(name)
    listing.set_IncludePublicKey(True)
    (pair,) = json.loads(legacy_call(api, listing))["KeyPairs"]["KeyPair"]
    assert run_keygen("-y", "-f", key_file).strip() == pair["PublicKey"]
    assert pair["KeyPairFingerPrint"] == body["KeyPairFingerPrint"]
    assert pair["Tags"] == {"Tag": [{"TagKey": "via", "TagValue": "legacy"}]}


def test_the_private_key_never_reaches_the_database_or_the_logs(tmp_path: Path) -> None:
    """A dedicated server, stopped before the scan so that its audit trail and log are complete."""
    bodies = []
    with server(data_dir=tmp_path) as running:
        ecs = Client(running.tea_config())
        bodies.append(create(ecs, "scanned-tea").to_map())
        request = LegacyCreate()
        request.set_KeyPairName("scanned-legacy")
        bodies.append(json.loads(legacy_call(running, request)))
        expect_error(lambda: create(ecs, "scanned-tea"), "KeyPair.AlreadyExist")
        delete(ecs, ["scanned-legacy"])
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert "server.log" in files and any(name.startswith("secplane.db") for name in files)
    everything = b"".join(files.values())
    flat = everything.replace(b"\\n", b"").replace(b"\n", b"")  # PEM line breaks, raw or JSON-escaped
    assert b"PRIVATE KEY" not in everything
    for body in bodies:
        for needle in secret_needles(body["PrivateKeyBody"]):
            assert needle not in flat
    # the scan reads what the server wrote: the public half is there
    assert bodies[0]["KeyPairFingerPrint"].encode() in everything


def secret_needles(pem: str) -> list[bytes]:
    """Pieces of the private numbers of ``pem`` as they could be written anywhere: raw, hex, and
    Base64 at each of the three byte alignments. (The PEM text itself also encodes the public modulus,
    which is rightly stored, so its lines are no evidence.)"""
    private = load_pem_private_key(pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.private_numbers()
    needles = []
    for value in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp):
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")[8:56]
        needles += [raw, raw.hex().encode(), raw.hex().upper().encode()]
        needles += [base64.b64encode(raw[k : k + 24]) for k in range(3)]
    return needles


# ---------------------------------------------------------------- ImportKeyPair (KP-2)


@needs_ssh_keygen
@pytest.mark.parametrize("key_type", [*KEYGEN_ARGS, *V01_CERT_TYPES])
def test_import_every_type_ssh_keygen_makes(ecs: Client, key_files: dict[str, Path], key_type: str) -> None:
    path = key_files[key_type]
    name = unique()
    body = import_key(ecs, path.read_text(), name)
    assert body.key_pair_name == name
    assert body.key_pair_finger_print == ssh_keygen_md5(path)
    key_type_word, encoded = path.read_text().split()[:2]
    assert public_key_of(ecs, name) == f"{key_type_word} {encoded}"
    # KeyPairFingerPrint filters ignore case and colons
    colons = ":".join(body.key_pair_finger_print[i : i + 2] for i in range(0, 32, 2)).upper()
    assert names(ecs, key_pair_finger_print=f"MD5:{colons}", key_pair_name=name) == [name]


@pytest.mark.parametrize("plain_type", ["ssh-rsa", "ssh-dss"])
def test_import_legacy_v00_certificates(ecs: Client, plain_type: str) -> None:
    from secplane.domain.ssh_keys import parse_public_key

    private: rsa.RSAPrivateKey | dsa.DSAPrivateKey
    ca: rsa.RSAPrivateKey | dsa.DSAPrivateKey
    if plain_type == "ssh-rsa":
        private, ca = rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 2048)
    else:
        private, ca = dsa.generate_private_key(1024), dsa.generate_private_key(1024)
    subject = parse_public_key(openssh_line(private.public_key()))
    body = import_key(ecs, v00_certificate(subject, ca))
    assert body.key_pair_finger_print == subject.fingerprint


@needs_ssh_keygen
def test_import_through_the_legacy_sdk(api: RunningServer, key_files: dict[str, Path]) -> None:
    for key_type in ("ssh-ed25519", "ssh-rsa-cert-v01@openssh.com"):
        name = unique()
        request = LegacyImport()
        request.set_KeyPairName(name)
        request.set_PublicKeyBody(key_files[key_type].read_text())
        request.set_Tags([{"Key": "type", "Value": key_type}])
        body = json.loads(legacy_call(api, request))
        assert body["KeyPairName"] == name
        assert body["KeyPairFingerPrint"] == ssh_keygen_md5(key_files[key_type])


API_REFUSED = sorted(set(REFUSED) - {"empty", "too long"})  # too long: the URL would exceed uvicorn's limit


@pytest.mark.parametrize("case", API_REFUSED)
def test_import_refusals_store_nothing(ecs: Client, case: str) -> None:
    make, _ = REFUSED[case]
    name = unique()
    err = expect_error(lambda: import_key(ecs, make(), name), "InvalidPublicKeyBody.Malformed")
    assert "The PublicKeyBody format is not supported." in err.message
    assert names(ecs, key_pair_name=name) == []


def test_import_refusals_through_the_legacy_sdk(api: RunningServer, ecs: Client) -> None:
    for case in ("pkcs8 private key", "garbage", "truncated blob"):
        name = unique()
        request = LegacyImport()
        request.set_KeyPairName(name)
        request.set_PublicKeyBody(REFUSED[case][0]())
        message = expect_legacy_error(api, request, "InvalidPublicKeyBody.Malformed")
        assert REFUSED[case][1].lower() in message.lower()
        assert names(ecs, key_pair_name=name) == []


def test_import_needs_a_public_key_body(ecs: Client) -> None:
    for body in (None, "  "):
        err = expect_error(lambda b=body: import_key(ecs, b), "MissingParameter")  # type: ignore[misc]
        assert "PublicKeyBody" in err.message


# ---------------------------------------------------------------- names (KP-3)


@pytest.mark.parametrize(
    "name",
    ["ab", "A" + "b" * 127, "Ωmega.key_1-2:3", "x1", f"k.{uuid.uuid4().hex}"],
)
def test_valid_names(ecs: Client, name: str) -> None:
    if names(ecs, key_pair_name=name):
        delete(ecs, [name])
    assert create(ecs, name).key_pair_name == name
    delete(ecs, [name])


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "a" * 129,
        "1key",
        "_key",
        "-key",
        ".key",
        ":key",
        "key pair",
        "key/pair",
        "key*",
        "kéy@x",
        "https://x",
    ],
)
def test_malformed_names_are_refused(ecs: Client, name: str) -> None:
    expect_error(lambda: create(ecs, name), "InvalidKeyPairName.Malformed")
    expect_error(lambda: import_key(ecs, REFUSED["garbage"][0](), name), "InvalidKeyPairName.Malformed")


def test_a_name_is_required(ecs: Client) -> None:
    request = m.CreateKeyPairRequest(region_id=REGION)
    err = expect_error(lambda: ecs.create_key_pair(request), "MissingParameter")
    assert "KeyPairName" in err.message


def test_names_are_unique_per_account_and_region(api: RunningServer, ecs: Client) -> None:
    name = unique()
    create(ecs, name)
    expect_error(lambda: create(ecs, name), "KeyPair.AlreadyExist")
    expect_error(lambda: import_key(ecs, _ed25519(), name), "KeyPair.AlreadyExist")
    create(ecs, name, region=OTHER_REGION)
    _, config = other_account(api)
    stranger = Client(config)
    create(stranger, name)
    assert names(stranger, key_pair_name=name) == [name]
    assert names(ecs, key_pair_name=name, region=OTHER_REGION) == [name]
    delete(stranger, [name])
    assert names(ecs, key_pair_name=name) == [name]


def _ed25519() -> str:
    from tests.unit.test_ssh_keys import ed25519_line

    return ed25519_line()


# ---------------------------------------------------------------- DescribeKeyPairs


def test_name_patterns(ecs: Client) -> None:
    t = f"kpq{uuid.uuid4().hex[:8]}"
    made = [f"{t}-alpha", f"{t}-beta", f"x-{t}-alpha", f"{t}_a", f"{t}xa", f"{t}-ALPHA"]
    for name in made:
        create(ecs, name)
    assert sorted(names(ecs, key_pair_name=f"{t}-alpha")) == [f"{t}-alpha"]
    assert sorted(names(ecs, key_pair_name=f"{t}*")) == sorted(n for n in made if n.startswith(t))
    assert sorted(names(ecs, key_pair_name=f"*{t}-alpha")) == [f"{t}-alpha", f"x-{t}-alpha"]
    assert sorted(names(ecs, key_pair_name=f"*{t}*")) == sorted(made)
    assert names(ecs, key_pair_name=f"{t}_*") == [f"{t}_a"]  # "_" is no wildcard
    assert names(ecs, key_pair_name=f"{t.upper()}*") == []  # case-sensitive
    assert sorted(names(ecs, key_pair_name=f"*{t}-ALPHA")) == [f"{t}-ALPHA"]
    assert names(ecs, key_pair_name=f"{t}*a*") == []  # a star inside matches nothing
    delete(ecs, made)


def test_filters_and_paging(ecs: Client) -> None:
    t = f"kpf{uuid.uuid4().hex[:8]}"
    made = [f"{t}-{i}" for i in range(5)]
    for i, name in enumerate(made):
        tags = [m.CreateKeyPairRequestTag(key="tier", value="web" if i % 2 else "db")] if i < 4 else None
        create(ecs, name, tag=tags)
    group = describe(ecs, key_pair_name=made[0]).key_pairs.key_pair[0].resource_group_id
    tag = m.DescribeKeyPairsRequestTag
    assert names(ecs, key_pair_name=f"{t}*", tag=[tag(key="tier", value="web")]) == [made[1], made[3]]
    assert names(ecs, key_pair_name=f"{t}*", tag=[tag(key="tier")]) == made[:4]
    assert (
        names(ecs, key_pair_name=f"{t}*", tag=[tag(key="tier", value="db"), tag(key="tier", value="web")])
        == []
    )
    assert names(ecs, key_pair_name=f"{t}*", resource_group_id=group) == made
    assert names(ecs, key_pair_name=f"{t}*", resource_group_id="rg-acfmnothing0000000") == []
    pages = [describe(ecs, key_pair_name=f"{t}*", page_size=2, page_number=n) for n in (1, 2, 3, 4)]
    assert [p.total_count for p in pages] == [5, 5, 5, 5]
    assert [(p.page_number, p.page_size) for p in pages] == [(1, 2), (2, 2), (3, 2), (4, 2)]
    assert [k.key_pair_name for p in pages for k in p.key_pairs.key_pair] == made
    assert pages[3].key_pairs.key_pair == []
    for bad in ({"page_size": 51}, {"page_size": 0}, {"page_number": 0}):
        expect_error(lambda b=bad: describe(ecs, **b), "InvalidParameter")  # type: ignore[misc]
    assert describe(ecs).page_size == 10
    delete(ecs, made)


def test_describe_through_the_legacy_sdk_in_json_and_xml(api: RunningServer, ecs: Client) -> None:
    name = unique()
    create(ecs, name, tag=[m.CreateKeyPairRequestTag(key="k", value="v")])
    request = LegacyDescribe()
    request.set_KeyPairName(name)
    request.set_Tags([{"Key": "k", "Value": "v"}])
    body = json.loads(legacy_call(api, request))
    assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (1, 1, 10)
    (pair,) = body["KeyPairs"]["KeyPair"]
    assert set(pair) == {"KeyPairName", "KeyPairFingerPrint", "CreationTime", "ResourceGroupId", "Tags"}
    xml = LegacyDescribe()
    xml.set_KeyPairName(name)
    text = legacy_call(api, xml, fmt="XML").decode()
    assert f"<KeyPairs><KeyPair><KeyPairName>{name}</KeyPairName>" in text.replace("\n", "")


# ---------------------------------------------------------------- DeleteKeyPairs


def test_delete_ignores_unknown_names_and_frees_unbound_ones(api: RunningServer, ecs: Client) -> None:
    a, b = unique(), unique()
    create(ecs, a, tag=[m.CreateKeyPairRequestTag(key="gone", value="soon")])
    create(ecs, b)
    delete(ecs, [a, b, unique("never-made")])
    assert names(ecs, key_pair_name=a) == names(ecs, key_pair_name=b) == []
    create(ecs, a)
    (pair,) = describe(ecs, key_pair_name=a).key_pairs.key_pair
    assert pair.tags.tag == []  # the old pair's tags went with it
    request = LegacyDelete()
    request.set_KeyPairNames(json.dumps([a]))
    legacy_call(api, request)
    assert names(ecs, key_pair_name=a) == []


def test_delete_needs_1_to_100_names(api: RunningServer, ecs: Client) -> None:
    expect_error(lambda: delete(ecs, []), "InvalidKeyPairNames.ValueNotSupported")
    expect_error(lambda: delete(ecs, [unique() for _ in range(101)]), "InvalidKeyPairNames.ValueNotSupported")
    expect_error(lambda: ecs.delete_key_pairs(m.DeleteKeyPairsRequest(region_id=REGION)), "MissingParameter")
    request = LegacyDelete()
    request.set_KeyPairNames("[]")
    expect_legacy_error(api, request, "InvalidKeyPairNames.ValueNotSupported")


# ---------------------------------------------------------------- the quota (KP-3)


def test_500_pairs_per_region_hold_under_16_concurrent_creators(any_api: RunningServer) -> None:
    _, config = other_account(any_api)
    line = _ed25519()

    def attempt(i: int) -> str:
        client = Client(config)
        try:
            import_key(client, line, f"quota-{i:04d}")
            return "ok"
        except ClientException as exc:
            return f"{exc.code} {exc.status_code}"

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, range(576)))
    assert results.count("ok") == 500
    assert set(results) == {"ok", "QuotaExceed.KeyPair 403"}
    client = Client(config)
    assert describe(client).total_count == 500
    expect_error(lambda: create(client), "QuotaExceed.KeyPair", 403)
    create(client, region=OTHER_REGION)  # the quota is per region
    delete(client, ["quota-0000", "quota-0001"])
    create(client)
    import_key(client, line)
    expect_error(lambda: import_key(client, line), "QuotaExceed.KeyPair", 403)


# ---------------------------------------------------------------- tags through the tag API


def _tag(client: Client, names_: list[str], pairs: dict[str, str], region: str = REGION) -> None:
    tags = [m.TagResourcesRequestTag(key=k, value=v) for k, v in pairs.items()]
    request = m.TagResourcesRequest(region_id=region, resource_type="keypair", resource_id=names_, tag=tags)
    client.tag_resources(request)


def _listed(client: Client, names_: list[str], region: str = REGION) -> set[tuple[str, str, str]]:
    request = m.ListTagResourcesRequest(region_id=region, resource_type="keypair", resource_id=names_)
    rows = client.list_tag_resources(request).body.tag_resources.tag_resource
    return {(r.resource_id, r.tag_key, r.tag_value) for r in rows}


def test_key_pairs_are_tagged_by_name(ecs: Client) -> None:
    name = unique()
    create(ecs, name)
    _tag(ecs, [name], {"env": "prod"})
    assert _listed(ecs, [name]) == {(name, "env", "prod")}
    (pair,) = describe(
        ecs, key_pair_name=name, tag=[m.DescribeKeyPairsRequestTag(key="env", value="prod")]
    ).key_pairs.key_pair
    assert [(t.tag_key, t.tag_value) for t in pair.tags.tag] == [("env", "prod")]
    ecs.untag_resources(
        m.UntagResourcesRequest(
            region_id=REGION, resource_type="keypair", resource_id=[name], tag_key=["env"]
        )
    )
    assert _listed(ecs, [name]) == set()
    expect_error(lambda: _tag(ecs, [unique()], {"a": "b"}), "InvalidResourceId.NotFound", 404)


def test_tags_of_same_named_pairs_in_two_regions_stay_apart(ecs: Client) -> None:
    name = unique()
    create(ecs, name)
    create(ecs, name, region=OTHER_REGION)
    _tag(ecs, [name], {"where": "hangzhou"})
    _tag(ecs, [name], {"where": "shanghai"}, region=OTHER_REGION)
    assert _listed(ecs, [name]) == {(name, "where", "hangzhou")}
    assert _listed(ecs, [name], region=OTHER_REGION) == {(name, "where", "shanghai")}
    (pair,) = describe(ecs, key_pair_name=name).key_pairs.key_pair
    assert [(t.tag_key, t.tag_value) for t in pair.tags.tag] == [("where", "hangzhou")]


def test_tag_api_keeps_same_named_pairs_of_two_accounts_apart(api: RunningServer, ecs: Client) -> None:
    name = unique()
    create(ecs, name)
    _tag(ecs, [name], {"owner": "root"})
    _, config = other_account(api)
    stranger = Client(config)
    create(stranger, name)
    _tag(stranger, [name], {"owner": "stranger"})
    assert _listed(ecs, [name]) == {(name, "owner", "root")}
    assert _listed(stranger, [name]) == {(name, "owner", "stranger")}


# ---------------------------------------------------------------- Attach / Detach (KP-4)


def test_attach_to_a_mix_of_linux_windows_and_unknown_instances(
    api: RunningServer, ecs: Client, place: Place
) -> None:
    name = unique()
    create(ecs, name)
    running, stopped = place.running(), place.stopped()
    windows = place.running(image_id=WINDOWS)
    body = attach(ecs, name, [running, windows, stopped, "i-bpnothing000000000", running])
    assert (body["KeyPairName"], body["TotalCount"], body["FailCount"]) == (name, 4, 2)
    assert outcomes(body) == {
        running: (True, "200"),
        windows: (False, "DependencyViolation.WindowsInstance"),
        stopped: (True, "200"),
        "i-bpnothing000000000": (False, "InvalidInstanceId.NotFound"),
    }
    assert {r["Message"] for r in body["Results"]["Result"] if r["Success"]} == {"successful"}
    # a stopped instance takes the pair at once; a running one at its next (re)start
    assert (place.key_pair_of(stopped), place.key_pair_of(running), place.key_pair_of(windows)) == (
        name,
        "",
        "",
    )
    state = secplane_state(api, [running, stopped, windows])
    assert (state[running]["PendingKeyPairName"], state[running]["PendingOperation"]) == (name, "Attach")
    assert state[running]["PasswordLoginEnabled"] is True
    assert (state[stopped]["PendingOperation"], state[stopped]["PasswordLoginEnabled"]) == ("", False)
    assert authorized_keys(api, stopped) == [public_key_of(ecs, name)]
    assert authorized_keys(api, running) == authorized_keys(api, windows) == []


def test_reboot_and_start_apply_pending_changes(api: RunningServer, ecs: Client, place: Place) -> None:
    name = unique()
    create(ecs, name)
    instance = place.running()
    attach(ecs, name, [instance])
    place.stop(instance)  # stopping applies nothing
    assert place.key_pair_of(instance) == ""
    place.start(instance)
    assert place.key_pair_of(instance) == name
    assert authorized_keys(api, instance) == [public_key_of(ecs, name)]
    assert outcomes(detach(ecs, name, [instance])) == {instance: (True, "200")}
    assert place.key_pair_of(instance) == name
    assert secplane_state(api, [instance])[instance]["PendingOperation"] == "Detach"
    place.reboot(instance)
    assert place.key_pair_of(instance) == ""
    assert secplane_state(api, [instance])[instance]["PendingOperation"] == ""
    assert authorized_keys(api, instance) == []


def test_a_new_pair_replaces_the_old(api: RunningServer, ecs: Client, place: Place) -> None:
    first, second = unique(), unique()
    create(ecs, first)
    create(ecs, second)
    stopped, running = place.stopped(), place.running()
    attach(ecs, first, [stopped])
    attach(ecs, second, [stopped])
    assert place.key_pair_of(stopped) == second
    assert authorized_keys(api, stopped) == [public_key_of(ecs, second)]
    attach(ecs, first, [running])
    place.reboot(running)
    attach(ecs, second, [running])
    assert place.key_pair_of(running) == first
    assert secplane_state(api, [running])[running]["PendingKeyPairName"] == second
    place.reboot(running)
    assert place.key_pair_of(running) == second
    assert place.world.instances(key_pair_name=second, instance_ids=json.dumps([stopped, running]))


def test_attach_and_detach_refusals(ecs: Client, place: Place) -> None:
    name, other = unique(), unique()
    create(ecs, name)
    create(ecs, other)
    instance, windows = place.stopped(), place.running(image_id=WINDOWS)
    for call in (attach, detach):
        expect_error(lambda c=call: c(ecs, unique(), [instance]), "InvalidKeyPairName.NotFound", 404)  # type: ignore[misc]
        expect_error(lambda c=call: c(ecs, name, []), "InvalidInstanceIds.ValueNotSupported")  # type: ignore[misc]
        many = [f"i-bp{i:018d}" for i in range(51)]
        expect_error(lambda c=call, ids=many: c(ecs, name, ids), "InvalidInstanceIds.ValueNotSupported")  # type: ignore[misc]
    request = m.AttachKeyPairRequest(region_id=REGION, instance_ids=json.dumps([instance]))
    expect_error(lambda: ecs.attach_key_pair(request), "MissingParameter")
    attach(ecs, other, [instance])
    assert outcomes(detach(ecs, name, [instance])) == {instance: (False, "InvalidKeyPairName.NotFound")}
    assert place.key_pair_of(instance) == other
    assert outcomes(detach(ecs, name, [windows])) == {windows: (False, "DependencyViolation.WindowsInstance")}
    other_region = m.AttachKeyPairRequest(
        region_id=OTHER_REGION, key_pair_name=name, instance_ids=json.dumps([instance])
    )  # the pair exists in its own region only
    expect_error(lambda: ecs.attach_key_pair(other_region), "InvalidKeyPairName.NotFound", 404)


def test_an_instance_in_another_region_is_not_found_per_instance(ecs: Client, place: Place) -> None:
    name = unique()
    create(ecs, name, region=OTHER_REGION)
    instance = place.stopped()
    request = m.AttachKeyPairRequest(
        region_id=OTHER_REGION, key_pair_name=name, instance_ids=json.dumps([instance])
    )
    body = ecs.attach_key_pair(request).body.to_map()
    assert outcomes(body) == {instance: (False, "InvalidInstanceId.NotFound")}
    assert place.key_pair_of(instance) == ""


def test_attach_and_detach_through_the_legacy_sdk(api: RunningServer, ecs: Client, place: Place) -> None:
    name = unique()
    create(ecs, name)
    instance = place.stopped()
    request = LegacyAttach()
    request.set_KeyPairName(name)
    request.set_InstanceIds(json.dumps([instance]))
    body = json.loads(legacy_call(api, request))
    assert (body["TotalCount"], body["FailCount"]) == (1, 0)
    assert body["Results"]["Result"] == [
        {"InstanceId": instance, "Success": True, "Code": "200", "Message": "successful"}
    ]
    assert place.key_pair_of(instance) == name
    request = LegacyDetach()
    request.set_KeyPairName(name)
    request.set_InstanceIds(json.dumps([instance]))
    assert json.loads(legacy_call(api, request))["FailCount"] == 0
    assert place.key_pair_of(instance) == ""


def test_detach_leaves_password_login_off(api: RunningServer, ecs: Client, place: Place) -> None:
    name = unique()
    create(ecs, name)
    instance = place.stopped()
    assert secplane_state(api, [instance])[instance]["PasswordLoginEnabled"] is True
    attach(ecs, name, [instance])
    assert secplane_state(api, [instance])[instance]["PasswordLoginEnabled"] is False
    detach(ecs, name, [instance])
    state = secplane_state(api, [instance])[instance]
    assert (state["KeyPairName"], state["PasswordLoginEnabled"]) == ("", False)


def test_apply_pending_key_pair_is_the_reboot_hook(api: RunningServer, ecs: Client, place: Place) -> None:
    """What RebootInstance/StartInstance must call (see the report): run here on the store directly."""
    name = unique()
    create(ecs, name)
    instance = place.running()
    attach(ecs, name, [instance])
    with store(api) as conn:
        key_store.apply_pending_key_pair(conn, instance)
    state = secplane_state(api, [instance])[instance]
    assert (state["KeyPairName"], state["PendingOperation"], state["PasswordLoginEnabled"]) == (
        name,
        "",
        False,
    )
    detach(ecs, name, [instance])
    with store(api) as conn:
        key_store.apply_pending_key_pair(conn, instance)
        key_store.apply_pending_key_pair(conn, instance)  # nothing pending: nothing changes
    state = secplane_state(api, [instance])[instance]
    assert (state["KeyPairName"], state["PendingOperation"], state["PasswordLoginEnabled"]) == ("", "", False)
    with store(api) as conn:
        key_store.password_reset(conn, instance)
    assert secplane_state(api, [instance])[instance]["PasswordLoginEnabled"] is True


def test_reboot_turns_password_login_off(api: RunningServer, ecs: Client, place: Place) -> None:
    name = unique()
    create(ecs, name)
    instance = place.running()
    attach(ecs, name, [instance])
    place.reboot(instance)
    assert secplane_state(api, [instance])[instance]["PasswordLoginEnabled"] is False


def test_a_password_reset_turns_password_login_back_on(api: RunningServer, ecs: Client, place: Place) -> None:
    name = unique()
    create(ecs, name)
    instance = place.stopped()
    attach(ecs, name, [instance])
    detach(ecs, name, [instance])
    ecs.modify_instance_attribute(
        m.ModifyInstanceAttributeRequest(instance_id=instance, password="Secplane-2026!")
    )
    assert secplane_state(api, [instance])[instance]["PasswordLoginEnabled"] is True


def test_run_instances_binds_its_key_pair(ecs: Client, place: Place) -> None:
    name = unique()
    create(ecs, name)
    (instance,) = place.world.run(place.net, [place.group], key_pair_name=name)
    assert place.key_pair_of(instance) == name
    expect_error(
        lambda: place.world.run(place.net, [place.group], key_pair_name=unique()),
        "InvalidKeyPairName.NotFound",
        404,
    )


def test_describe_instance_key_pairs_shows_only_the_callers_instances(
    api: RunningServer, place: Place
) -> None:
    instance = place.stopped()
    _, config = other_account(api)
    stranger = dataclasses.replace(
        api, access_key_id=config.access_key_id, access_key_secret=config.access_key_secret
    )
    assert secplane_state(stranger, [instance]) == {}
    assert set(secplane_state(api, [instance, "i-bpnothing000000000"])) == {instance}
    with pytest.raises(ClientException) as err:
        secplane_state(api, [f"i-{i}" for i in range(101)])
    assert err.value.code == "InvalidInstanceIds.ValueNotSupported"


# ---------------------------------------------------------------- Delete while bound (KP-5)


def test_a_pair_deleted_while_bound_keeps_working_and_keeps_its_name(
    api: RunningServer, ecs: Client, place: Place
) -> None:
    bound, pending, free = unique(), unique(), unique()
    for name in (bound, pending, free):
        create(ecs, name)
    stopped, running, spare = place.stopped(), place.running(), place.stopped()
    attach(ecs, bound, [stopped])
    attach(ecs, pending, [running])  # a pending attach binds too
    bound_key = public_key_of(ecs, bound)
    delete(ecs, [bound, pending, free])
    assert (
        names(ecs, key_pair_name=bound)
        == names(ecs, key_pair_name=pending)
        == names(ecs, key_pair_name=free)
        == []
    )
    assert place.key_pair_of(stopped) == bound
    assert authorized_keys(api, stopped) == [bound_key]
    place.reboot(running)
    assert place.key_pair_of(running) == pending
    # the names of pairs deleted while bound stay taken; the unbound one is free again
    expect_error(lambda: create(ecs, bound), "KeyPair.AlreadyExist")
    err = expect_error(lambda: import_key(ecs, _ed25519(), pending), "KeyPair.AlreadyExist")
    assert "deleted" in err.message
    create(ecs, free)
    # a deleted pair binds nothing new, cannot be tagged, but can be detached
    assert outcomes(attach(ecs, free, [spare])) == {spare: (True, "200")}
    expect_error(lambda: attach(ecs, bound, [spare]), "InvalidKeyPairName.NotFound", 404)
    expect_error(lambda: _tag(ecs, [bound], {"a": "b"}), "InvalidResourceId.NotFound", 404)
    assert outcomes(detach(ecs, bound, [stopped])) == {stopped: (True, "200")}
    assert place.key_pair_of(stopped) == ""
    expect_error(lambda: create(ecs, bound), "KeyPair.AlreadyExist")
    delete(ecs, [bound])  # deleting a deleted pair again is no error
