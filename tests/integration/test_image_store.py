"""The image store: names and ids, docker rmi's rules, prune, Docker's JSON
shapes, layer reference counting, locking and kill -9."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from hakobune.errors import Conflict, InvalidArgument, NotFound
from hakobune.image.store import ContainerUse, ImageStore, ImageUsers, LayerSource
from hakobune.oci.image_spec import chain_id_of
from image_helpers import FIXTURES, add_image, config_for, layer, sha256, snapshot

BASE = layer("etc/base", b"base layer")
MIDDLE = layer("etc/middle", b"middle layer")
TOP = layer("etc/top", b"top layer")


@pytest.fixture
def store(tmp_path):
    return ImageStore(str(tmp_path / "root"))


class Users(ImageUsers):
    def __init__(self):
        self.containers: dict[str, list[ContainerUse]] = {}
        self.layers: set[str] = set()

    def containers_using(self, image_id):
        return self.containers.get(image_id, [])

    def chain_ids_in_use(self):
        return set(self.layers)


# --- adding and finding --------------------------------------------------------------

def test_add_and_resolve_every_way(store):
    image_id = add_image(store, [BASE, TOP], tags=["app:1", "example.com:5000/team/app:v2"])
    assert image_id == sha256(config_for([BASE, TOP]))
    hex_id = image_id[7:]
    for text in (image_id, hex_id, hex_id[:12], "sha256:" + hex_id[:8], "app:1", "docker.io/library/app:1",
                 "example.com:5000/team/app:v2"):
        assert store.resolve(text).id == image_id, text
    image = store.resolve("app:1")
    assert image.repo_tags == ["app:1", "example.com:5000/team/app:v2"]
    assert image.diff_ids == [sha256(BASE), sha256(TOP)]
    assert image.chain_ids[0] == sha256(BASE) and store.layers.exists(image.top_chain_id)
    assert image.config_bytes == config_for([BASE, TOP])


def test_a_bare_name_means_latest(store):
    image_id = add_image(store, [BASE], tags=["tool"])
    assert store.resolve("tool").id == image_id
    assert store.resolve("tool:latest").id == image_id
    assert store.resolve("tool").repo_tags == ["tool:latest"]


def test_name_at_digest(store):
    image_id = add_image(store, [BASE], tags=["app:1"])
    manifest_digest = sha256(b"a manifest")
    store.add_digest(f"app@{manifest_digest}", image_id)
    assert store.resolve(f"app@{manifest_digest}").id == image_id
    assert store.resolve(f"app:other@{manifest_digest}").id == image_id  # the digest decides
    assert store.resolve("app:1").repo_digests == [f"app@{manifest_digest}"]


def test_missing_images_are_named_as_docker_names_them(store):
    add_image(store, [BASE], tags=["app:1"])
    with pytest.raises(NotFound, match=r"^No such image: nothing:latest$"):
        store.resolve("nothing")
    with pytest.raises(NotFound, match=r"^No such image: app:2$"):
        store.resolve("app:2")
    with pytest.raises(NotFound, match="No such image: sha256:" + "0" * 64):
        store.resolve("0" * 64)
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        store.resolve("UPPER:case")


def two_images_sharing_a_first_hex_digit(store) -> tuple[str, str]:
    seen = {}
    for day in range(1, 200):
        image_id = sha256(config_for([BASE], created=f"2024-01-01T00:00:{day % 60:02d}.{day}Z"))
        if image_id[7] in seen:
            first = add_image(store, [BASE], created=seen[image_id[7]])
            second = add_image(store, [BASE], created=f"2024-01-01T00:00:{day % 60:02d}.{day}Z")
            return first, second
        seen[image_id[7]] = f"2024-01-01T00:00:{day % 60:02d}.{day}Z"
    raise AssertionError("no two ids share a first digit")


def test_an_ambiguous_prefix_is_refused_naming_it(store):
    first, second = two_images_sharing_a_first_hex_digit(store)
    prefix = first[7]
    with pytest.raises(InvalidArgument, match=f"ambiguous image id prefix '{prefix}'.*2 images"):
        store.resolve(prefix)
    common = os.path.commonprefix([first[7:], second[7:]])
    assert store.resolve(first[7:len(common) + 8]).id == first
    assert store.resolve(second[:len(common) + 8]).id == second


def test_a_tag_wins_over_an_id_prefix(store):
    first = add_image(store, [BASE])
    second = add_image(store, [TOP])
    store.tag(second, first[7:12])
    assert store.resolve(first[7:12]).id == second
    assert store.resolve(first[7:13]).id == first


def test_adding_checks_layers_and_diff_ids(store):
    store.layers.register(BASE)
    with pytest.raises(InvalidArgument, match="diff ids"):
        store.add_image(config_for([BASE, TOP]), [LayerSource(sha256(BASE))])
    before = snapshot(store.root)
    with pytest.raises(NotFound, match="layer .* is not in the layer store"):
        store.add_image(config_for([TOP]), [LayerSource(sha256(TOP))], tags=["x:1"])
    assert snapshot(store.root) == before
    assert store.images() == []


def test_adding_an_image_again_keeps_one_image(store):
    first = add_image(store, [BASE], tags=["a:1"])
    again = add_image(store, [BASE], tags=["b:1"])
    assert first == again and len(store.images()) == 1
    assert store.resolve(first).repo_tags == ["a:1", "b:1"]


# --- tags --------------------------------------------------------------------------

def test_tag_moves_and_untag(store):
    first = add_image(store, [BASE], tags=["app:1"])
    second = add_image(store, [TOP])
    assert str(store.tag(second, "app:1")) == "docker.io/library/app:1"
    assert store.resolve("app:1").id == second
    assert store.resolve(first).repo_tags == []
    assert store.untag("app:1") == second
    with pytest.raises(NotFound):
        store.untag("app:1")
    assert {image.id for image in store.images()} == {first, second}


def test_tags_that_are_refused(store):
    image_id = add_image(store, [BASE])
    with pytest.raises(InvalidArgument, match="digest"):
        store.tag(image_id, "app@" + sha256(b"x"))
    with pytest.raises(InvalidArgument, match="digest algorithm as name"):
        store.tag(image_id, "sha256:abc")
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        store.tag(image_id, "Bad Name")


def test_tag_sets_last_tag_time(store):
    image_id = add_image(store, [BASE])
    assert store.inspect(image_id)["Metadata"]["LastTagTime"] == "0001-01-01T00:00:00Z"
    store.tag(image_id, "app:1")
    assert store.inspect(image_id)["Metadata"]["LastTagTime"].startswith("20")


# --- rmi ---------------------------------------------------------------------------

def test_removing_one_of_two_tags_only_untags(store):
    image_id = add_image(store, [BASE], tags=["app:1", "app:2"])
    assert store.remove("app:1") == [{"Untagged": "app:1"}]
    assert store.resolve(image_id).repo_tags == ["app:2"]


def test_removing_the_last_tag_removes_the_image_and_frees_its_layers(store):
    image_id = add_image(store, [BASE, TOP], tags=["app:1"])
    top_chain = store.resolve(image_id).top_chain_id
    assert store.remove("app:1") == [{"Untagged": "app:1"}, {"Deleted": image_id},
                                      {"Deleted": top_chain}, {"Deleted": sha256(BASE)}]
    assert store.layers.chain_ids() == [] and list(store.content.walk()) == []
    assert store.images() == []


def test_removing_by_id_with_tags_in_several_repositories_needs_force(store):
    image_id = add_image(store, [BASE], tags=["one:1", "two:1"])
    short = image_id[7:19]
    with pytest.raises(Conflict, match=rf"^conflict: unable to delete {short} \(must be forced\) - image is "
                                       "referenced in multiple repositories$"):
        store.remove(short)
    assert store.resolve(image_id).repo_tags == ["one:1", "two:1"]
    assert store.remove(short, force=True) == [{"Untagged": "one:1"}, {"Untagged": "two:1"},
                                               {"Deleted": image_id}, {"Deleted": sha256(BASE)}]


def test_removing_by_id_with_two_tags_of_one_repository_needs_force_too(store):
    image_id = add_image(store, [BASE], tags=["one:1", "one:2"])
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        store.remove(image_id)


def test_removing_by_id_with_one_tag_and_its_digests(store):
    image_id = add_image(store, [BASE], tags=["one:1"])
    digest = sha256(b"manifest")
    store.add_digest(f"one@{digest}", image_id)
    assert store.remove(image_id[7:]) == [{"Untagged": "one:1"}, {"Untagged": f"one@{digest}"},
                                          {"Deleted": image_id}, {"Deleted": sha256(BASE)}]


def test_the_last_tag_of_a_repository_takes_its_digests_along(store):
    image_id = add_image(store, [BASE], tags=["one:1", "two:1"])
    digest = sha256(b"manifest")
    store.add_digest(f"one@{digest}", image_id)
    assert store.remove("one:1") == [{"Untagged": "one:1"}, {"Untagged": f"one@{digest}"}]
    assert store.resolve(image_id).references[0].familiar == "two:1"


def test_layers_shared_by_images_stay_until_the_last_goes(store):
    first = add_image(store, [BASE, MIDDLE], tags=["first:1"])
    second = add_image(store, [BASE, TOP], tags=["second:1"])
    removed = store.remove("first:1")
    assert {"Deleted": sha256(BASE)} not in removed and len(removed) == 3
    assert store.layers.exists(sha256(BASE))
    removed = store.remove("second:1")
    assert removed[-1] == {"Deleted": sha256(BASE)} and store.layers.chain_ids() == []
    assert first != second


def test_containers_keep_their_images(tmp_path):
    users = Users()
    store = ImageStore(str(tmp_path / "root"), users)
    image_id = add_image(store, [BASE], tags=["app:1"])
    short = image_id[7:19]
    users.containers[image_id] = [ContainerUse("c0ffee" * 10 + "abcd", True)]
    with pytest.raises(Conflict, match=r'unable to remove repository reference "app:1" \(must force\) - '
                                       rf"container c0ffeec0ffee is using its referenced image {short}"):
        store.remove("app:1")
    with pytest.raises(Conflict, match=rf"unable to delete {short} \(cannot be forced\) - image is being used "
                                       "by running container c0ffeec0ffee"):
        store.remove(image_id, force=True)
    assert store.remove("app:1", force=True) == [{"Untagged": "app:1"}]  # the image stays, nameless
    assert store.resolve(image_id).repo_tags == []
    users.containers[image_id] = [ContainerUse("feed" * 16, False)]
    with pytest.raises(Conflict, match=r"\(must be forced\) - image is being used by stopped container feedfeed"):
        store.remove(image_id)
    users.layers = {sha256(BASE)}
    assert store.remove(image_id, force=True) == [{"Deleted": image_id}]
    assert store.layers.exists(sha256(BASE))  # the container's layers outlive the image


def test_parents_and_children(store):
    parent = add_image(store, [BASE], created="2024-01-01T00:00:00Z")
    child = add_image(store, [BASE, TOP], tags=["child:1"], parent=parent)
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image has dependent child images"):
        store.remove(parent, force=True)
    assert store.list() == [summary for summary in store.list(all=True) if summary["Id"] == child]
    assert [s["RepoTags"] for s in store.list(all=True)] == [["child:1"], ["<none>:<none>"]]
    history = store.history("child:1")
    assert [entry["Id"] for entry in history] == [child, parent]
    removed = store.remove("child:1")  # prunes the untagged parent too
    assert {"Deleted": parent} in removed and store.images() == []


def test_no_prune_keeps_the_parent(store):
    parent = add_image(store, [BASE], created="2024-01-01T00:00:00Z")
    add_image(store, [BASE, TOP], tags=["child:1"], parent=parent)
    store.remove("child:1", prune=False)
    assert [image.id for image in store.images()] == [parent]


# --- prune -------------------------------------------------------------------------

def test_prune_dangling_then_all(tmp_path):
    users = Users()
    store = ImageStore(str(tmp_path / "root"), users)
    tagged = add_image(store, [BASE], tags=["keep:1"])
    dangling = add_image(store, [MIDDLE])
    used = add_image(store, [TOP])
    users.containers[used] = [ContainerUse("a" * 64, False)]
    report = store.prune()
    assert report == {"ImagesDeleted": [{"Deleted": dangling}, {"Deleted": sha256(MIDDLE)}],
                      "SpaceReclaimed": len(b"middle layer")}
    report = store.prune(dangling_only=False)
    assert report["ImagesDeleted"] == [{"Untagged": "keep:1"}, {"Deleted": tagged}, {"Deleted": sha256(BASE)}]
    assert [image.id for image in store.images()] == [used]
    assert store.prune() == {"ImagesDeleted": None, "SpaceReclaimed": 0}


def test_prune_with_a_selection(store):
    old = add_image(store, [BASE], created="2020-01-01T00:00:00Z")
    add_image(store, [TOP], created="2024-01-01T00:00:00Z")
    report = store.prune(select=lambda image: image.config.created < "2021")
    assert report["ImagesDeleted"][0] == {"Deleted": old} and len(store.images()) == 1


# --- Docker's JSON shapes ----------------------------------------------------------

def recorded() -> dict:
    with open(os.path.join(FIXTURES, "engine-api-recorded.json")) as f:
        return json.load(f)


def assert_same_shape(ours, theirs, where="") -> None:
    """Same keys in the same order, the same JSON types (a map's own keys aside)."""
    assert type(ours) is type(theirs), f"{where}: {type(ours).__name__} != {type(theirs).__name__}"
    if isinstance(theirs, dict) and not where.endswith("Data"):
        assert list(ours) == list(theirs), where
        for key in theirs:
            assert_same_shape(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list) and theirs and ours:
        assert_same_shape(ours[0], theirs[0], f"{where}[0]")


def imported(store) -> str:
    from hakobune.image.archive import import_rootfs
    with open(os.path.join(FIXTURES, "tiny-rootfs.tar"), "rb") as f:
        return import_rootfs(store, f, "busybox:local")


def test_inspect_has_dockers_keys_and_types(store):
    image_id = imported(store)
    ours, theirs = store.inspect("busybox:local"), recorded()["image_inspect"]
    assert_same_shape(ours, theirs)
    assert ours["Id"] == image_id and ours["Comment"] == "Imported from -"
    assert ours["Size"] == ours["VirtualSize"] == store.size(store.resolve(image_id)) > 0
    assert ours["RootFS"] == {"Type": "layers", "Layers": store.resolve(image_id).diff_ids}
    assert ours["Config"] == theirs["Config"] and ours["ContainerConfig"] == theirs["ContainerConfig"]


def test_images_and_history_have_dockers_shapes(store):
    image_id = imported(store)
    summaries = store.list()
    assert_same_shape(summaries, recorded()["images"])
    assert summaries[0]["RepoTags"] == ["busybox:local"] and summaries[0]["Id"] == image_id
    history = store.history(image_id)
    assert_same_shape(history[0], recorded()["history"][1])
    assert history[0]["Comment"] == "Imported from -" and history[0]["Tags"] == ["busybox:local"]


def test_dangling_images_are_listed_as_none(store):
    image_id = add_image(store, [BASE])
    [summary] = store.list()
    assert summary["RepoTags"] == ["<none>:<none>"] and summary["RepoDigests"] == ["<none>@<none>"]
    assert summary["Id"] == image_id and summary["Created"] == 1704164645
    assert store.inspect(image_id)["RepoTags"] == [] and store.inspect(image_id)["RepoDigests"] == []


# --- durability and concurrency ------------------------------------------------------

def _tag_many(root: str, image_id: str, worker: int) -> None:
    store = ImageStore(root)
    for i in range(15):
        store.tag(image_id, f"w{worker}:t{i}")


def test_concurrent_taggers_lose_nothing(store):
    image_id = add_image(store, [BASE])
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_tag_many, args=(store.root, image_id, n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(store.resolve(image_id).tags) == 60


def test_kill_9_never_leaves_a_damaged_index(store):
    image_id = add_image(store, [BASE])
    script = textwrap.dedent(f"""
        from hakobune.image.store import ImageStore
        store = ImageStore({store.root!r})
        print("ready", flush=True)
        i = 0
        while True:
            store.tag({image_id!r}, f"spin:{{i % 7}}")
            store.untag(f"spin:{{(i + 3) % 7}}") if i % 2 else None
            i += 1
        """)
    for delay in (0.05, 0.13, 0.3):
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        assert process.stdout.readline() == b"ready\n"
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        fresh = ImageStore(store.root)
        assert fresh.resolve(image_id).id == image_id
        assert all(tag.name == "docker.io/library/spin" for tag in fresh.resolve(image_id).tags)
        fresh.gc_temporaries()  # a write cut short leaves its temporary file, never a half file
        assert not [name for name in os.listdir(fresh.directory) if ".tmp-" in name]


def test_a_lease_keeps_layers_and_blobs_from_the_collector(store):
    image_id = add_image(store, [BASE], tags=["app:1"])
    with store.lease() as lease:
        lease.hold(sha256(BASE))
        store.remove("app:1")
        assert store.layers.exists(sha256(BASE))
    assert not store.content.exists(image_id)
    assert store.collect([sha256(BASE)], []) == {sha256(BASE): len(b"base layer")}


def test_a_dead_processes_lease_holds_nothing(store):
    add_image(store, [BASE], tags=["app:1"])
    script = textwrap.dedent(f"""
        import os
        from hakobune.image.store import ImageStore
        store = ImageStore({store.root!r})
        with store.lease() as lease:
            lease.hold({sha256(BASE)!r})
            os._exit(0)
        """)
    subprocess.run([sys.executable, "-c", script], check=True)
    assert len(os.listdir(os.path.join(store.directory, "leases"))) == 1
    store.remove("app:1")
    assert not store.layers.exists(sha256(BASE))
    assert os.listdir(os.path.join(store.directory, "leases")) == []


def test_orphans_of_an_interrupted_removal_are_collected(tmp_path):
    store = ImageStore(str(tmp_path / "root"))
    kept = add_image(store, [BASE], tags=["kept:1"])
    orphan = add_image(store, [BASE, TOP], tags=["orphan:1"])
    store.untag("orphan:1")
    store.delete_record(orphan)  # as if killed before its layers and blobs went
    with store.lease() as lease:
        lease.hold(sha256(MIDDLE))
        store.content.put(MIDDLE)  # a load in progress: not an orphan
        assert store.collect_orphans() == {chain_id_of(sha256(BASE), sha256(TOP)): len(b"top layer")}
        assert store.content.exists(sha256(MIDDLE))
    assert store.layers.chain_ids() == [sha256(BASE)]
    assert sorted(blob.digest for blob in store.content.walk()) == sorted([kept, sha256(BASE), sha256(MIDDLE)])
    assert not store.content.exists(orphan) and not store.content.exists(sha256(TOP))
