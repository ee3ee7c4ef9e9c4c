"""Hostile layer tarballs: nothing outside the target directory may be created,
changed or deleted, whatever the names, symlinks and hard links say."""

import io
import os
import stat

import pytest

from hakobune.errors import InvalidArgument
from hakobune.image.tarlayer import apply_layer
from layer_tars import directory, file, hardlink, opaque, symlink, tar, whiteout


class Scene:
    """A target directory and, beside it, an outside world the layer must not touch."""

    def __init__(self, base):
        self.target = base / "target"
        self.outside = base / "outside"
        self.target.mkdir()
        self.outside.mkdir()
        (self.outside / "victim").write_bytes(b"original")
        os.chmod(self.outside / "victim", 0o644)
        (self.outside / "victimdir").mkdir()
        (self.outside / "victimdir" / "inner").write_bytes(b"inner")

    def snapshot(self) -> dict:
        state = {}
        for directory_path, dirs, files in os.walk(self.outside):
            for name in dirs + files:
                path = os.path.join(directory_path, name)
                info = os.lstat(path)
                content = open(path, "rb").read() if stat.S_ISREG(info.st_mode) else None
                state[path] = (info.st_mode, info.st_uid, info.st_nlink, info.st_mtime_ns, content)
        state["."] = os.lstat(self.outside).st_mode
        return state

    def apply(self, layer: bytes, for_overlay=False):
        return apply_layer(io.BytesIO(layer), str(self.target), for_overlay=for_overlay)


@pytest.fixture
def scene(tmp_path):
    scene = Scene(tmp_path)
    before = scene.snapshot()
    yield scene
    assert scene.snapshot() == before, "the layer changed something outside its target"


@pytest.mark.parametrize("name", ["../victim", "../outside/victim", "a/../../victim", "./../victim",
                                  "a/b/../../../outside/new"])
def test_dot_dot_names_are_refused(scene, name):
    with pytest.raises(InvalidArgument, match="outside the layer"):
        scene.apply(tar(file(name, b"pwned")))


def test_absolute_names_stay_inside(scene):
    absolute = str(scene.outside / "victim")
    scene.apply(tar(file(absolute, b"pwned"), file("/rooted", b"r")))
    assert (scene.target / absolute.lstrip("/")).read_bytes() == b"pwned"
    assert (scene.target / "rooted").read_bytes() == b"r"


def test_writing_through_an_absolute_symlink(scene):
    inside = str(scene.outside).lstrip("/")
    scene.apply(tar(directory(inside), symlink("escape", str(scene.outside)), file("escape/victim", b"pwned"),
                    file("escape/new", b"pwned")))
    # resolved as in a chroot: the symlink's target is taken inside the layer
    assert (scene.target / inside / "victim").read_bytes() == b"pwned"
    assert os.readlink(scene.target / "escape") == str(scene.outside)


def test_writing_through_an_absolute_symlink_to_a_missing_directory(scene):
    with pytest.raises(InvalidArgument, match="dangling symlink"):
        scene.apply(tar(symlink("escape", str(scene.outside)), file("escape/victim", b"pwned")))


def test_writing_through_a_symlink_to_etc(scene):
    markers = ("/etc/hakobune-layer-escape-test", "/etc/hakobune-layer-escape-dir")
    assert not any(os.path.lexists(marker) for marker in markers)
    try:
        scene.apply(tar(directory("etc"), symlink("link", "/etc"), file("link/hakobune-layer-escape-test", b"pwned"),
                        directory("link/hakobune-layer-escape-dir")))
        assert not any(os.path.lexists(marker) for marker in markers)
        assert (scene.target / "etc/hakobune-layer-escape-test").read_bytes() == b"pwned"
        assert (scene.target / "etc/hakobune-layer-escape-dir").is_dir()
        with pytest.raises(InvalidArgument):
            scene.apply(tar(symlink("etc2", "/etc2"), file("etc2/passwd", b"pwned")))
    finally:
        for leftover in markers:
            if os.path.isdir(leftover) and not os.path.islink(leftover):
                os.rmdir(leftover)
            elif os.path.lexists(leftover):
                os.unlink(leftover)


def test_writing_through_a_relative_symlink_that_climbs(scene):
    depth = len(scene.target.parts)
    scene.apply(tar(symlink("up", "../" * (depth + 3)), file(f"up{scene.outside}/victim", b"pwned"),
                    directory("d"), directory("outside"), symlink("d/up", "../../outside"),
                    file("d/up/new", b"pwned")))
    assert (scene.target / str(scene.outside).lstrip("/") / "victim").read_bytes() == b"pwned"
    assert (scene.target / "outside/new").read_bytes() == b"pwned"


def test_a_symlink_chain(scene):
    scene.apply(tar(symlink("a", "b"), symlink("b", "c/d"), directory("c"), symlink("c/d", "../../../.."),
                    directory(str(scene.outside).lstrip("/")), symlink("c/e", str(scene.outside)),
                    symlink("f", "c/e"), file(f"a{scene.outside}/victim", b"pwned"), file("f/new", b"pwned")))
    inside = scene.target / str(scene.outside).lstrip("/")
    assert sorted(os.listdir(inside)) == ["new", "victim"]


def test_a_file_over_a_symlink_replaces_the_symlink(scene):
    scene.apply(tar(symlink("link", str(scene.outside / "victim")), file("link", b"pwned", mode=0o777)))
    assert (scene.target / "link").read_bytes() == b"pwned"
    assert not os.path.islink(scene.target / "link")


def test_a_directory_over_a_symlink_replaces_the_symlink(scene):
    scene.apply(tar(symlink("dir", str(scene.outside)), directory("dir", mode=0o777)))
    assert os.path.isdir(scene.target / "dir") and not os.path.islink(scene.target / "dir")


def test_special_files_over_symlinks(scene):
    from layer_tars import fifo
    scene.apply(tar(symlink("p", str(scene.outside / "victim")), fifo("p", mode=0o777),
                    symlink("s", str(scene.outside / "victim")), symlink("s", "elsewhere")))
    assert stat.S_ISFIFO(os.lstat(scene.target / "p").st_mode)
    assert os.readlink(scene.target / "s") == "elsewhere"


@pytest.mark.parametrize("link", ["../outside/victim", "../../victim"])
def test_hard_links_that_climb_are_refused(scene, link):
    with pytest.raises(InvalidArgument, match="outside the layer"):
        scene.apply(tar(hardlink("h", link)))


def test_hard_links_to_paths_outside_the_layer_are_refused(scene):
    victim = str(scene.outside / "victim")
    with pytest.raises(InvalidArgument, match="no earlier entry of this layer"):
        scene.apply(tar(hardlink("h", victim)))
    with pytest.raises(InvalidArgument, match="no earlier entry of this layer"):
        scene.apply(tar(hardlink("h2", "/etc/passwd")))
    assert os.stat("/etc/passwd").st_nlink == 1


def test_hard_links_through_a_symlinked_directory(scene):
    with pytest.raises(InvalidArgument, match="no earlier entry of this layer"):
        scene.apply(tar(symlink("out", str(scene.outside)), hardlink("h", "out/victim")))


def test_a_hard_link_to_a_symlink_links_the_symlink(scene):
    scene.apply(tar(symlink("s", str(scene.outside / "victim")), hardlink("h", "s")))
    assert os.readlink(scene.target / "h") == str(scene.outside / "victim")


def test_whiteouts_through_symlinks_stay_inside(scene):
    os.symlink(str(scene.outside), scene.target / "out")
    os.symlink("../outside", scene.target / "rel")
    scene.apply(tar(whiteout("out/victim"), whiteout("rel/victim"), opaque("out/victimdir"), opaque("rel")))
    assert os.path.islink(scene.target / "out")


@pytest.mark.root
def test_overlay_whiteouts_through_symlinks_stay_inside(scene):
    scene.apply(tar(directory(str(scene.outside).lstrip("/")), symlink("out", str(scene.outside)),
                    whiteout("out/victim"), opaque("out/victimdir")), for_overlay=True)
    inside = scene.target / str(scene.outside).lstrip("/")
    assert stat.S_ISCHR(os.lstat(inside / "victim").st_mode)


def test_a_whiteout_of_a_symlink_removes_the_symlink_only(scene):
    os.symlink(str(scene.outside / "victimdir"), scene.target / "dirlink")
    scene.apply(tar(whiteout("dirlink")))
    assert not os.path.lexists(scene.target / "dirlink")


def test_a_dangling_symlink_as_a_directory(scene):
    with pytest.raises(InvalidArgument, match="dangling"):
        scene.apply(tar(symlink("nowhere", "/does/not/exist/at/all"), symlink("d", "nowhere/x"),
                        file("d/f", b"x")))


def test_a_file_as_a_directory(scene):
    with pytest.raises(InvalidArgument, match="is not a directory"):
        scene.apply(tar(file("f", b"x"), file("f/g", b"y")))
