namespace Pdnn.Evaluation;

/// <summary>The Wilson score interval for a binomial proportion (95% by default): honest at 0% and 100% too.</summary>
public static class Wilson
{
    public static (double Low, double High) Interval(int successes, int trials, double z = 1.959963984540054)
    {
        if (trials == 0) return (0, 1);
        double p = (double)successes / trials, z2 = z * z;
        double centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
        double half = z * Math.Sqrt(p * (1 - p) / trials + z2 / (4.0 * trials * trials)) / (1 + z2 / trials);
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
