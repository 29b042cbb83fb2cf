using Analytics.Satisfaction;

namespace Analytics.Tests;

public class WilsonTests
{
    [Fact]
    public void Eight_of_ten_has_the_textbook_wilson_interval()
    {
        // Wilson 95% for 8/10: [0.4902, 0.9433] (Newcombe 1998, method 3).
        var p = Proportion.Of(8, 10);
        Assert.Equal(0.8, p.Rate!.Value, 10);
        Assert.Equal(0.4902, p.Lower!.Value, 4);
        Assert.Equal(0.9433, p.Upper!.Value, 4);
    }

    [Fact]
    public void The_interval_stays_inside_zero_and_one_and_narrows_with_more_data()
    {
        var none = Proportion.Of(0, 20);
        Assert.Equal(0, none.Lower);
        // 0 of n: the upper bound is z² / (n + z²); z = 1.959964 (95%), n = 20: 3.841459 / 23.841459 = 0.161125.
        Assert.Equal(0.161125, none.Upper!.Value, 6);
        var all = Proportion.Of(20, 20);
        Assert.Equal(1, all.Upper!.Value, 10);
        Assert.True(Proportion.Of(800, 1000).Upper - Proportion.Of(800, 1000).Lower < Proportion.Of(8, 10).Upper - Proportion.Of(8, 10).Lower);
    }

    [Fact]
    public void No_trials_means_no_rate()
    {
        var p = Proportion.Of(0, 0);
        Assert.Null(p.Rate);
        Assert.Null(p.Lower);
        Assert.Null(p.Upper);
    }
}
