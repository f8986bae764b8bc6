"""bot/child/measure.py's hashes of compiled code, on LLVM IR as TVM writes it (tests/engine/test_job_worker.py
checks them on real compiled items: equal across processes, none changed between two sides of one TVM), and
its timing of a real compiled model."""

from bot.child import measure
from bot.child.measure import function_hashes, function_name, number_addresses

#: A module as TVM 0.27 lays it out: each PrimFunc as its FFI wrapper and its body, metadata numbered
#: module-wide (`!dbg !5`), attribute groups (`#0`), a helper, and the module's metadata at its end.
MODULE = """; ModuleID = 'TVMMod'
@.str = private constant [4 x i8] c"add\\00"

define dllexport i32 @__tvm_ffi_add(ptr %args) #0 !dbg !5 {
entry:
  %0 = call i32 @add_compute_(ptr %args), !dbg !6
  ret i32 %0
}

define dllexport i32 @__tvm_ffi_conv2d(ptr %args) #0 !dbg !9 {
entry:
  call void @__tvm_set_raised_6(ptr @.str.1)
  %0 = call i32 @conv2d_compute_(ptr %args), !dbg !10
  ret i32 %0
}

define internal void @__tvm_set_raised_6(ptr %0) #1 {
  ret void
}

define internal i32 @add_compute_(ptr %A) #3 !dbg !20 {
  %x = load float, ptr %A, align 64, !tbaa !21
  ret i32 0
}

define internal i32 @conv2d_compute_(ptr %W) #3 !dbg !30 {
  %w = load float, ptr %W, align 64, !tbaa !31
  ret i32 0
}

attributes #0 = { "target-cpu"="generic" }
!5 = distinct !DISubprogram(name: "add")
"""


def test_a_primfuncs_wrapper_and_body_count_under_its_name():
    assert [function_name(s) for s in ("__tvm_ffi_conv2d", "conv2d_compute_", "__tvm_set_raised_6", '"q.1"')] == [
        "conv2d", "conv2d", "__tvm_set_raised_6", "q.1"
    ]  # fmt: skip
    assert set(function_hashes([("llvm", MODULE)])) == {"add", "conv2d", "__tvm_set_raised_6"}


def test_a_change_to_one_function_names_that_function_only_even_when_numbers_below_it_shift():
    # add's body grows a line with new metadata: every later `!N` and `#N` of the module shifts by one.
    changed = MODULE.replace(
        "  %x = load float, ptr %A, align 64, !tbaa !21\n",
        "  %x = load float, ptr %A, align 64, !tbaa !21\n  %y = fadd float %x, %x, !dbg !22\n",
    )
    changed = changed.replace("#3 !dbg !30", "#4 !dbg !31").replace("!tbaa !31", "!tbaa !32").replace("!9 {", "!10 {")
    assert changed.count("conv2d") == MODULE.count("conv2d") and changed != MODULE
    before, after = function_hashes([("llvm", MODULE)]), function_hashes([("llvm", changed)])
    assert [name for name in before if before[name] != after[name]] == ["add"]


def test_hashes_are_deterministic_and_other_module_kinds_count_as_one_entry():
    sources = [("llvm", number_addresses(MODULE)), ("c", "void f() {}")]
    assert function_hashes(sources) == function_hashes(list(sources))
    assert function_hashes(sources)["(c module)"] != function_hashes([("c", "void g() {}")])["(c module)"]
    assert all(len(h) == 16 for h in function_hashes(sources).values())


def test_heap_addresses_in_metadata_names_are_numbered_in_order():
    text = '!1 = !{!"0x55d1c0a3f2b0", !"0x55d1c0a3f9c8", !"0x55d1c0a3f2b0"}'
    assert number_addresses(text) == '!1 = !{!"p0", !"p1", !"p0"}'


def test_host_is_llvm_s_cpu_name_unless_this_machine_lacks_its_features():
    """With the real TVM: the parent's reading of this machine (bot/engine/boards/host.py) turns LLVM's name
    into the one it can run, says why, and the target TVM makes names it; without a reading, LLVM's name."""
    import tvm
    from tvm.target import codegen

    from bot.child.measure import host_cpu, resolve_target, target_error

    llvm = codegen.llvm_get_system_cpu()
    assert host_cpu(tvm, {"kind": "local"}) == (llvm, None)
    hiding = {"kind": "local", "host_cpus": {"beyond": [llvm], "instead": "generic", "archspec": "x86_64"}}
    cpu, why = host_cpu(tvm, hiding)
    assert cpu == "generic" and why.startswith(f"LLVM names this CPU {llvm}, but") and why.endswith("generic")
    assert str(resolve_target(tvm, "host", 1, hiding).attrs["mcpu"]) == "generic"
    answer = target_error(tvm, "host", 1, hiding)
    assert answer["target_error"] is None and '"mcpu":"generic"' in answer["compiled_for"]
    assert answer["cpu_fallback"] == why
    unknown = {"kind": "local", "host_cpus": {"beyond": [llvm], "instead": "no-such-cpu", "archspec": "?"}}
    assert host_cpu(tvm, unknown) == (llvm, None)  # a name this LLVM lacks would compile for `generic`
    assert target_error(tvm, {"kind": "nonsense"}, 1)["target_error"]


class CountingModule:
    """A real VM module whose functions count their calls on the way through."""

    def __init__(self, module):
        self.module, self.calls = module, 0

    def __getitem__(self, name):
        function = self.module[name]

        def call(*args):
            self.calls += 1
            return function(*args)

        return call


def test_a_sample_here_runs_the_model_number_times_and_no_untimed_run_beside_them(tiny_spec, tmp_path):
    # TVM's time_evaluator runs the function once untimed before each block: a round of one sample a side
    # paid two runs a sample. Here the host's clock times exactly the runs asked for.
    result = measure.Result(str(tmp_path / "result.json"))
    tvm, executable, library = measure.compile_item(tiny_spec, result)
    vm, dev, remote = measure.load_and_check(tvm, executable, library, tiny_spec, result)
    assert remote is None and library is None
    vm.module = counting = CountingModule(vm.module)

    samples, runs = measure.time_block(vm, dev, remote, number=2, repeat=3, warmup=1)

    assert counting.calls == 2 * 3 and runs == 1 + 2 * 3
    assert len(samples) == 3 and all(s > 0 for s in samples)
