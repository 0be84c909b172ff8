using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;

namespace Pdnn.Attacks.Tests;

/// <summary>
/// Finds the methods that make a TorchSharp <see cref="Scalar"/> by implicit conversion and drop it while libtorch may
/// still read it (TorchSharp 0.107: its finaliser frees it; see <c>GcSafe</c>). A method counts if its IL calls
/// <c>Scalar.op_Implicit</c> or, transitively, a TorchSharp or Pdnn method that does: <c>a + b</c> on two tensors counts,
/// because TorchSharp's <c>add(Tensor)</c> is <c>add(target, 1)</c>. Reads the IL of the loaded assemblies by reflection;
/// virtual calls are followed to the method named in the IL only (a module's <c>forward</c> is checked on its own).
/// </summary>
public sealed class ImplicitScalarScan
{
    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    readonly HashSet<Assembly> scanned;
    readonly Dictionary<MethodBase, bool> makes = new();
    readonly HashSet<MethodBase> inProgress = new();

    public ImplicitScalarScan(params Assembly[] assemblies) =>
        scanned = [typeof(Scalar).Assembly, .. assemblies];

    /// <summary>Whether <paramref name="method"/> makes an implicit scalar, itself or through what it calls.</summary>
    public bool MakesImplicitScalar(MethodBase method)
    {
        if (IsImplicitConversion(method)) return true;
        if (makes.TryGetValue(method, out var known)) return known;
        if (!scanned.Contains(method.Module.Assembly) || !inProgress.Add(method)) return false; // recursion: decided by the other paths
        var result = Callees(method).Any(MakesImplicitScalar);
        inProgress.Remove(method);
        makes[method] = result;
        return result;
    }

    /// <summary>The methods <paramref name="method"/> calls directly that make implicit scalars (for the message).</summary>
    public IEnumerable<string> Culprits(MethodBase method) =>
        Callees(method).Where(MakesImplicitScalar).Select(c => $"{c.DeclaringType?.Name}.{c.Name}({string.Join(", ", c.GetParameters().Select(p => p.ParameterType.Name))})").Distinct();

    static bool IsImplicitConversion(MethodBase m) => m.Name == "op_Implicit" && m.DeclaringType == typeof(Scalar);

    /// <summary>Methods named by call, callvirt, newobj and ldftn (lambdas) in the IL of <paramref name="method"/>.</summary>
    public static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) yield break;
        var typeArgs = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            var op = il[i] == 0xFE ? OpCodesByValue[unchecked((short)(0xFE00 | il[i + 1]))] : OpCodesByValue[il[i]];
            i += op.Size;
            if (op.OperandType == OperandType.InlineMethod)
            {
                MethodBase? callee = null;
                try { callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArgs, methodArgs); }
                catch (ArgumentException) { }
                if (callee is not null) yield return callee;
            }
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
    }
}
